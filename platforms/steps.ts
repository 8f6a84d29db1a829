/**
 * Every platform's workflow steps, by platform name (workflow code: see catalog.ts for the data side). One line
 * per platform.
 */
import type { PlatformSteps } from '../workflows/step-context.js';
import type { PlatformName } from './catalog.js';
import { netlifySteps } from './netlify/steps.js';
import { nextnetSteps } from './nextnet/steps.js';

export const PLATFORM_STEPS: Record<PlatformName, PlatformSteps> = {
  netlify: netlifySteps,
  nextnet: nextnetSteps,
};
