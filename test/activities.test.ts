import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSharedActivities } from '../activities/index.js';
import { createSmtpMailer, type SmtpMailerOptions } from '../activities/mailer.js';
import type { EmailClaim, SentEmail, SentEmailLedger } from '../activities/sent-email-ledger.js';
import { WHAT_THE_CLIENT_GETS } from '../activities/signup-email.js';
import { startMailDev, type RunningMailDev } from '../scripts/maildev.js';
import { startSimulator, type RunningSimulator } from '../simulator/app.js';
import { FileVault, type SecretVault } from '../vault/index.js';
import type { PlatformName } from '../platforms/catalog.js';
import type { RegistrationOutcome } from '../workflows/definitions.js';
import { capturedLogger, freePort, TEST_EMAIL_FROM, TEST_RESELLER_KEY, TEST_SIGNUP_URL, testActivities, uniqueClient } from './support.js';

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

function activitiesWith(overrides: { vault?: SecretVault; opsAlertTo?: string; emailReplyTo?: string; mailer?: SmtpMailerOptions } = {}) {
  const mailer = createSmtpMailer(mail.smtpUrl, TEST_EMAIL_FROM, overrides.mailer);
  const vault = overrides.vault ?? new FileVault(path.join(dir, 'vault'), Buffer.alloc(32, 3), logger);
  return {
    vault,
    activities: testActivities({ simulator, vault, mailer, logger, dataDir: dir, opsAlertTo: overrides.opsAlertTo, emailReplyTo: overrides.emailReplyTo }),
  };
}

async function emailsTo(address: string) {
  return (await mail.emails()).filter((m) => m.to.some((t) => t.address === address));
}

/** The message as it went over SMTP, headers and all, from MailDev's API. */
async function sourceOf(emailId: string): Promise<string> {
  const response = await fetch(`${mail.webUrl}/api/email/${emailId}/source`);
  if (!response.ok) throw new Error(`MailDev answered ${response.status}`);
  return response.text();
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

  it('send the signup email from the agency by name, signed off by it, with replies going to its mailbox', async () => {
    const { activities } = activitiesWith({ emailReplyTo: 'hello@agency.test', mailer: { fromName: 'Acme Agency' } });
    const client = uniqueClient();
    await env().run(activities.sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client, services: ['netlify', 'nextnet'] as PlatformName[] });

    const [received] = await emailsTo(client.email);
    expect(received?.from).toEqual([{ address: 'onboarding@agency.test', name: 'Acme Agency' }]);
    expect(await sourceOf(received!.id)).toMatch(/^Reply-To: hello@agency\.test\r?$/m);
    expect(received?.text).toContain('The Acme Agency team');
    expect(received?.text).toContain(WHAT_THE_CLIENT_GETS.netlify);
    expect(received?.text).toContain(WHAT_THE_CLIENT_GETS.nextnet);
  });

  it('alert ops by email with the reason, the link to the workflow in the Temporal UI and the command that shows it', async () => {
    const opsAlertTo = `ops-${Date.now().toString(36)}@agency.test`;
    const { activities } = activitiesWith({ opsAlertTo });
    const client = uniqueClient();
    const onboardingId = `onboarding-${client.clientId}`;
    const reason = `DNS of ${client.domain} not verified after 72h: point www.${client.domain} at acme.netlify.app`;

    expect(await env().run(activities.alertOps, { onboardingId, domain: client.domain, reason })).toEqual({ emailed: true });

    const [alert] = await emailsTo(opsAlertTo);
    const link = `http://127.0.0.1:8233/namespaces/default/workflows/${onboardingId}`;
    expect(alert?.subject).toBe(`Onboarding of ${client.domain} needs attention`);
    expect(alert?.text).toContain(reason);
    expect(alert?.text).toContain(`Temporal UI: ${link}`);
    expect(alert?.text).toContain(`npx onboarding show ${onboardingId}`);
    expect(alert?.html).toContain(`<a href="${link}">`);
    expect(alert?.html).toContain(`npx onboarding show ${onboardingId}`);
  });

  it('alert without email when no ops address is set, still naming the link in the log', async () => {
    const { activities } = activitiesWith();
    const client = uniqueClient();
    const onboardingId = `onboarding-${client.clientId}`;

    expect(await env().run(activities.alertOps, { onboardingId, domain: client.domain, reason: 'WordPress key lost' })).toEqual({ emailed: false });

    const logged = lines.find((line) => line.includes(onboardingId) && line.includes('needs attention'));
    expect(logged).toContain(`http://127.0.0.1:8233/namespaces/default/workflows/${onboardingId}`);
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

/** A ledger that claims sends, as the PostgreSQL one does, with what it answers set by the test. */
function claimingLedger(answer: (messageId: string) => EmailClaim, options: { failRecord?: boolean } = {}) {
  const recorded: SentEmail[] = [];
  const claimed: string[] = [];
  const ledger: SentEmailLedger = {
    find: async () => undefined,
    record: async (sent) => {
      if (options.failRecord) throw new Error('connection terminated unexpectedly');
      recorded.push(sent);
    },
    claim: async (messageId) => {
      claimed.push(messageId);
      return answer(messageId);
    },
  };
  return { ledger, recorded, claimed };
}

function signupActivityWith(sentEmails: SentEmailLedger) {
  const mailer = createSmtpMailer(mail.smtpUrl, TEST_EMAIL_FROM);
  const vault = new FileVault(path.join(dir, 'vault'), Buffer.alloc(32, 3), logger);
  const { sendSignupEmail } = createSharedActivities({ nextnet: undefined, netlify: undefined, vault, mailer, sentEmails, logger, signupUrl: TEST_SIGNUP_URL, emailFrom: TEST_EMAIL_FROM, opsAlertTo: undefined });
  return { sendSignupEmail, close: () => mailer.close() };
}

describe('the signup email with a ledger that claims sends', () => {
  it('claims the send before it sends, then records it', async () => {
    const { ledger, recorded, claimed } = claimingLedger(() => ({ state: 'claimed', claimedAt: new Date().toISOString(), attempts: 1 }));
    const { sendSignupEmail, close } = signupActivityWith(ledger);
    const client = uniqueClient();
    const sent = (await env().run(sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client })) as SentEmail;
    close();

    expect(claimed).toEqual([sent.messageId]);
    expect(recorded).toEqual([sent]);
    expect(await emailsTo(client.email)).toHaveLength(1);
  });

  it('does not send when the claim finds the email already sent by another worker', async () => {
    const earlier = { sentAt: '2026-05-06T07:08:09.000Z' };
    const { ledger, recorded } = claimingLedger((messageId) => ({ state: 'sent', sent: { messageId, ...earlier } }));
    const { sendSignupEmail, close } = signupActivityWith(ledger);
    const client = uniqueClient();
    const result = (await env().run(sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client })) as SentEmail;
    close();

    expect(result.sentAt).toBe(earlier.sentAt);
    expect(recorded).toEqual([]);
    expect(await emailsTo(client.email)).toHaveLength(0);
  });

  it('sends again with the same Message-ID after an earlier attempt claimed the send and never recorded it', async () => {
    const { ledger, recorded } = claimingLedger(() => ({ state: 'claimed', claimedAt: new Date().toISOString(), attempts: 2, earlierClaimedAt: '2026-05-06T07:08:09.000Z', earlierClaimedBy: 'worker-1:42' }));
    const { sendSignupEmail, close } = signupActivityWith(ledger);
    const client = uniqueClient();
    const sent = (await env().run(sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client })) as SentEmail;
    close();

    const received = await emailsTo(client.email);
    expect(received).toHaveLength(1);
    expect(received[0]?.headers['message-id']).toBe(sent.messageId);
    expect(recorded).toEqual([sent]);
    const warning = lines.map((line) => JSON.parse(line)).find((line) => line.messageId === sent.messageId && line.earlierClaimedAt);
    expect(warning).toMatchObject({ earlierClaimedBy: 'worker-1:42', attempts: 2 });
  });

  it('succeeds once the mail server accepted the email even when the ledger cannot record it, logging the failure', async () => {
    const { ledger } = claimingLedger(() => ({ state: 'claimed', claimedAt: new Date().toISOString(), attempts: 1 }), { failRecord: true });
    const { sendSignupEmail, close } = signupActivityWith(ledger);
    const client = uniqueClient();
    const sent = (await env().run(sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client })) as SentEmail;
    close();

    expect(sent.messageId).toMatch(/^<signup\./);
    expect(await emailsTo(client.email)).toHaveLength(1);
    const logged = lines.map((line) => JSON.parse(line)).find((line) => line.messageId === sent.messageId && line.level === 50);
    expect(logged?.msg).toBe('signup email sent, but the sent-email ledger could not record it');
  });
});
