import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpMailer } from '../activities/mailer.js';
import { startMailDev, type RunningMailDev } from '../scripts/maildev.js';
import { startSimulator, type RunningSimulator } from '../simulator/app.js';
import { FileVault, type SecretVault } from '../vault/index.js';
import type { RegistrationOutcome } from '../workflows/definitions.js';
import { capturedLogger, freePort, TEST_EMAIL_FROM, TEST_RESELLER_KEY, testActivities, uniqueClient } from './support.js';

// Activities run in Temporal's mock activity context, against the real simulator, MailDev and a real vault.
let dir: string;
let simulator: RunningSimulator;
let mail: RunningMailDev;
const { logger, lines } = capturedLogger();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'activities-test-'));
  simulator = await startSimulator({ apiKeys: [TEST_RESELLER_KEY], dnsVerifyAfterMs: null });
  mail = await startMailDev({ smtpPort: await freePort(), webPort: await freePort(), mailDirectory: path.join(dir, 'mail') });
});
afterEach(() => simulator.knobs.clearFaults());
afterAll(async () => {
  await mail?.close();
  await simulator?.close();
  await rm(dir, { recursive: true, force: true });
});

function activitiesWith(overrides: { vault?: SecretVault } = {}) {
  const mailer = createSmtpMailer(mail.smtpUrl, TEST_EMAIL_FROM);
  const vault = overrides.vault ?? new FileVault(path.join(dir, 'vault'), Buffer.alloc(32, 3), logger);
  return {
    vault,
    activities: testActivities({ simulator, vault, mailer, logger, dataDir: dir }),
  };
}
const env = () => new MockActivityEnvironment();

describe('the onboarding activities', () => {
  it('send the signup email once even when the activity runs again', async () => {
    const { activities } = activitiesWith();
    const client = uniqueClient();
    const first = await env().run(activities.sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client });
    const second = await env().run(activities.sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client });
    expect(second).toEqual(first);
    const received = (await mail.emails()).filter((m) => m.to.some((t) => t.address === client.email));
    expect(received).toHaveLength(1);
  });

  it('keep retrying a failing vault write so a one-time WordPress key is not lost', async () => {
    const inner = new FileVault(path.join(dir, 'flaky-vault'), Buffer.alloc(32, 4), logger);
    let failures = 2;
    const flaky: SecretVault = {
      put: async (ref, value) => {
        if (failures-- > 0) throw new Error('EIO: disk hiccup');
        return inner.put(ref, value);
      },
      has: (ref) => inner.has(ref),
      reveal: (ref, audit) => inner.reveal(ref, audit),
      revoke: (ref, audit) => inner.revoke(ref, audit),
    };
    const { activities } = activitiesWith({ vault: flaky });
    const client = uniqueClient();
    const onboardingId = `onboarding-${client.clientId}`;
    const outcome = (await env().run(activities.registerClientDomain, { onboardingId, client })) as RegistrationOutcome;
    expect(outcome.wordpressKey).toBe('stored');
    const issued = simulator.knobs.domains().find((d) => d.host === client.domain)?.wordpressApiKey;
    expect(await inner.reveal({ onboardingId, name: 'wordpress-api-key' }, { actor: 'test', purpose: 'assert' })).toBe(issued);
    expect(lines.join('')).not.toContain(issued!);
  });

  it('store no key and expect none for a client without WordPress', async () => {
    const { activities, vault } = activitiesWith();
    const client = uniqueClient({ cms: 'squarespace' });
    const onboardingId = `onboarding-${client.clientId}`;
    const outcome = await env().run(activities.registerClientDomain, { onboardingId, client });
    expect(outcome).toMatchObject({ wordpressKey: 'not-applicable', keyReference: null, foundExisting: false });
    expect(await vault.has({ onboardingId, name: 'wordpress-api-key' })).toBe(false);
  });

  it('refuse a domain this agency already registered for a different client', async () => {
    const { activities } = activitiesWith();
    const first = uniqueClient();
    await env().run(activities.registerClientDomain, { onboardingId: `onboarding-${first.clientId}`, client: first });
    const other = uniqueClient({ domain: first.domain });
    const error = await env().run(activities.registerClientDomain, { onboardingId: `onboarding-${other.clientId}`, client: other }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'DomainOwnedElsewhere', nonRetryable: true });
  });

  it('pass NextNet Retry-After on as the next retry delay', async () => {
    const { activities } = activitiesWith();
    simulator.knobs.addFault({ route: 'register', kind: 'status', status: 429, retryAfterSeconds: 7, times: 1 });
    const client = uniqueClient();
    const error = await env().run(activities.registerClientDomain, { onboardingId: `onboarding-${client.clientId}`, client }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ nonRetryable: false, type: 'Reseller.rate-limited', nextRetryDelay: 7_000 });
  });
});
