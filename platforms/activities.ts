/**
 * Every platform's activities, for the worker (Node code: see catalog.ts for the data side). One line per platform.
 * A platform whose credentials are not configured still registers its activities; they fail with a clear message,
 * though the intake never starts an onboarding that needs them.
 */
import type { Logger } from 'pino';
import type { DomainHolders } from '../activities/domain-holders.js';
import type { SecretVault } from '../vault/index.js';
import { createNetlifyActivities, type NetlifySettings } from './netlify/activities.js';
import { createNextNetActivities } from './nextnet/activities.js';
import type { NextNetClient } from './nextnet/client.js';

export interface PlatformClients {
  nextnet: NextNetClient | undefined;
  netlify: NetlifySettings | undefined;
}

export function createPlatformActivities(deps: PlatformClients & { vault: SecretVault; logger: Logger; domainHolders?: DomainHolders }) {
  return {
    ...createNextNetActivities({ ...deps, nextnet: configured('nextnet', deps.nextnet) }),
    ...createNetlifyActivities({ ...deps, netlify: configured('netlify', deps.netlify) }),
  };
}

/** A stand-in for an unconfigured platform: any use says which settings are missing. */
function configured<T extends object>(platform: string, value: T | undefined): T {
  if (value) return value;
  return new Proxy({} as T, {
    get() {
      throw new Error(`${platform} is not configured on this worker (see the ${platform.toUpperCase()} settings in .env.example)`);
    },
  });
}
