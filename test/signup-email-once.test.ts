import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSharedActivities } from '../activities/index.js';
import { certainlyNotSent, createSmtpMailer, SmtpSendTimedOut, type SmtpTimeouts } from '../activities/mailer.js';
import { PostgresSentEmailLedger } from '../activities/postgres-sent-email-ledger.js';
import type { SentEmail, SentEmailLedger } from '../activities/sent-email-ledger.js';
import { openDatabase, type Database } from '../database/index.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/postgres.js';
import { FileVault } from '../vault/index.js';
import { FailureTypes } from '../workflows/definitions.js';
import { startScriptedSmtp, type ScriptedSmtp, type ScriptedSmtpOptions } from './scripted-smtp.js';
import { capturedLogger, freePort, TEST_EMAIL_FROM, TEST_SIGNUP_URL, uniqueClient } from './support.js';
import { tempDirs } from './temp-files.js';

// The signup email against a real PostgreSQL ledger and a real (scripted) SMTP server: at most one email, even when
// attempts overlap or the ledger fails after the server took the message.
let postgres: EmbeddedPostgres;
let database: Database;
const smtpServers: ScriptedSmtp[] = [];
const { logger, lines } = capturedLogger();
const dirs = tempDirs('email-once');

beforeAll(async () => {
  postgres = await startEmbeddedPostgres({ port: await freePort(), database: 'email_once_test', onProgress: () => {} });
  database = openDatabase(postgres.url, logger);
  await database.migrate();
});
afterEach(async () => {
  await Promise.all(smtpServers.splice(0).map((smtp) => smtp.close()));
  dirs.removeAll();
});
afterAll(async () => {
  await database?.close();
  await postgres?.close();
});

/** A scripted SMTP server (test/scripted-smtp.ts), stopped after each test. */
async function scriptedSmtp(options: ScriptedSmtpOptions = {}): Promise<ScriptedSmtp> {
  const smtp = await startScriptedSmtp(options);
  smtpServers.push(smtp);
  return smtp;
}

async function signupActivity(smtp: Pick<ScriptedSmtp, 'url'>, sentEmails: SentEmailLedger, timeouts: Partial<SmtpTimeouts> = {}) {
  const mailer = createSmtpMailer(smtp.url, TEST_EMAIL_FROM, { timeouts });
  const vault = new FileVault(dirs.make('vault'), Buffer.alloc(32, 5), logger);
  const { sendSignupEmail } = createSharedActivities({ nextnet: undefined, netlify: undefined, vault, mailer, sentEmails, logger, signupUrl: TEST_SIGNUP_URL, emailFrom: TEST_EMAIL_FROM, opsAlertTo: undefined });
  return { sendSignupEmail, close: () => mailer.close() };
}

describe('the signup email, at most once', () => {
  it('two attempts overlapping (a slow mail server outlives the first): one email; the second waits instead of sending', async () => {
    const smtp = await scriptedSmtp({ acceptAfterMs: 1_500 });
    const ledger = new PostgresSentEmailLedger(database);
    const { sendSignupEmail, close } = await signupActivity(smtp, ledger);
    const client = uniqueClient();
    const input = { onboardingId: `onboarding-${client.clientId}`, client };
    try {
      // The first attempt is still waiting for the server when Temporal starts a second one.
      const first = new MockActivityEnvironment().run(sendSignupEmail, input) as Promise<SentEmail>;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await (new MockActivityEnvironment().run(sendSignupEmail, input) as Promise<SentEmail>).catch((err: unknown) => err);
      expect(second).toBeInstanceOf(ApplicationFailure);
      expect((second as ApplicationFailure).type).toBe(FailureTypes.emailSendInProgress);
      expect((second as ApplicationFailure).nonRetryable).toBe(false);
      expect((second as ApplicationFailure).nextRetryDelay).toBeGreaterThan(60_000);

      const sent = await first;
      // The retry after the wait finds the email sent and sends nothing.
      expect(await new MockActivityEnvironment().run(sendSignupEmail, input)).toEqual(sent);
      expect(smtp.taken).toEqual([sent.messageId]);
    } finally {
      close();
    }
  });

  it('the ledger failing after the server took the message: the attempt still succeeds, with one email, and the log says so', async () => {
    const smtp = await scriptedSmtp();
    const real = new PostgresSentEmailLedger(database);
    const failing: SentEmailLedger = {
      find: (id) => real.find(id),
      claim: (id, options) => real.claim(id, options),
      release: (id) => real.release(id),
      record: () => Promise.reject(new Error('connection to PostgreSQL lost')),
    };
    const { sendSignupEmail, close } = await signupActivity(smtp, failing);
    const client = uniqueClient();
    try {
      const sent = (await new MockActivityEnvironment().run(sendSignupEmail, { onboardingId: `onboarding-${client.clientId}`, client })) as SentEmail;
      expect(smtp.taken).toEqual([sent.messageId]);
      expect(lines.join('\n')).toContain('signup email sent, but the sent-email ledger could not record it');
    } finally {
      close();
    }
  });

  it('a mail server that never finishes: the send gives up within its own limit, and the claim keeps holding the next attempt off', async () => {
    const smtp = await scriptedSmtp({ acceptAfterMs: 60_000 });
    const ledger = new PostgresSentEmailLedger(database);
    const { sendSignupEmail, close } = await signupActivity(smtp, ledger, { sendMs: 500, socketMs: 2_000 });
    const client = uniqueClient();
    const input = { onboardingId: `onboarding-${client.clientId}`, client };
    try {
      const started = Date.now();
      const failed = await (new MockActivityEnvironment().run(sendSignupEmail, input) as Promise<unknown>).catch((err: unknown) => err);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(String(failed)).toContain('did not finish taking the message');
      // The server may have taken it: no second send until the first attempt is surely over.
      const next = await (new MockActivityEnvironment().run(sendSignupEmail, input) as Promise<unknown>).catch((err: unknown) => err);
      expect((next as ApplicationFailure).type).toBe(FailureTypes.emailSendInProgress);
    } finally {
      close();
    }
  });

  it('a server that refused or was never reached leaves the send free to be tried again at once', async () => {
    const ledger = new PostgresSentEmailLedger(database);
    const unreachable = { url: `smtp://127.0.0.1:${await freePort()}`, taken: [] as string[] };
    const { sendSignupEmail, close } = await signupActivity(unreachable, ledger);
    const client = uniqueClient();
    const input = { onboardingId: `onboarding-${client.clientId}`, client };
    try {
      const failed = await (new MockActivityEnvironment().run(sendSignupEmail, input) as Promise<unknown>).catch((err: unknown) => err);
      expect(certainlyNotSent(failed)).toBe(true);
      const again = await (new MockActivityEnvironment().run(sendSignupEmail, input) as Promise<unknown>).catch((err: unknown) => err);
      // Failing the same way, not held off by the first attempt's claim.
      expect((again as ApplicationFailure).type).not.toBe(FailureTypes.emailSendInProgress);
      expect(certainlyNotSent(again)).toBe(true);
    } finally {
      close();
    }
  });

  it('SMTP limits: a server that never greets fails the send within the greeting limit, as an unknown outcome', async () => {
    const silent = await scriptedSmtp({ silent: true });
    const mailer = createSmtpMailer(silent.url, TEST_EMAIL_FROM, { timeouts: { greetingMs: 300, connectionMs: 300 } });
    const started = Date.now();
    const err = await mailer.send({ to: 'a@b.example', subject: 's', text: 't', html: '<p>t</p>', messageId: '<x@agency.test>' }).catch((e: unknown) => e);
    mailer.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(SmtpSendTimedOut);
  });
});
