/**
 * Every reseller platform an onboarding can cover, as data: its name, what it is called, the one-time secrets it
 * hands over and how each is recovered when its answer is lost. Imported by the workflows (so nothing here may
 * touch the network or the file system), the vault, the API, the CLI and the configuration.
 *
 * Adding a platform: a folder of its own (client, activities, steps, this declaration) and one line here, one line
 * in `activities.ts` and one in `steps.ts` beside this file.
 */
import { netlifyPlatform } from './netlify/platform.js';
import { nextnetPlatform } from './nextnet/platform.js';
import type { PlatformDeclaration } from './types.js';

export type { PlatformDeclaration, SecretDeclaration } from './types.js';

export const PLATFORMS = [netlifyPlatform, nextnetPlatform] as const satisfies readonly PlatformDeclaration[];

export type PlatformName = (typeof PLATFORMS)[number]['name'];
export const PLATFORM_NAMES = PLATFORMS.map((p) => p.name) as PlatformName[];

export type SecretName = (typeof PLATFORMS)[number]['secrets'][number]['name'];
export const SECRETS = PLATFORMS.flatMap((p) => p.secrets.map((s) => ({ ...s, platform: p.name })));
export const SECRET_NAMES = SECRETS.map((s) => s.name) as SecretName[];

export function platformOf(name: PlatformName): PlatformDeclaration {
  return PLATFORMS.find((p) => p.name === name)!;
}

export function isPlatformName(name: string): name is PlatformName {
  return (PLATFORM_NAMES as string[]).includes(name);
}

export function isSecretName(name: string): name is SecretName {
  return (SECRET_NAMES as string[]).includes(name);
}

/** `vault:<onboardingId>/<secret>`: what workflow history holds instead of a secret. */
export function secretReference(onboardingId: string, name: SecretName): string {
  return `vault:${onboardingId}/${name}`;
}

/** A plan's platforms in the catalogue's order, without repeats. */
export function orderedPlan(services: readonly string[]): PlatformName[] {
  return PLATFORM_NAMES.filter((name) => services.includes(name));
}
