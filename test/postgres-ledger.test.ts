import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config/logger.js';
import { openDatabase, type Database } from '../database/index.js';
import { PostgresSentEmailLedger } from '../activities/postgres-sent-email-ledger.js';
import { FileSentEmailLedger, type SentEmailLedger } from '../activities/sent-email-ledger.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/postgres.js';
import { freePort } from './free-port.js';

const silent = createLogger({ level: 'silent' });

let server: EmbeddedPostgres;
let first: Database;
let second: Database;
let fileDir: string;

beforeAll(async () => {
  server = await startEmbeddedPostgres({ port: await freePort(), database: 'ledger_test', onProgress: () => {} });
  first = openDatabase(server.url, silent);
  second = openDatabase(server.url, silent);
  await first.migrate();
  fileDir = await mkdtemp(path.join(os.tmpdir(), 'ledger-test-'));
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await server?.close();
  if (fileDir) await rm(fileDir, { recursive: true, force: true });
});

/** A message id no other test uses. */
function messageId(): string {
  return `<signup.onboarding-crm-${randomBytes(4).toString('hex')}.abc123@agency.example>`;
}

describe.each([
  ['PostgreSQL', () => new PostgresSentEmailLedger(first) as SentEmailLedger],
  ['files', () => new FileSentEmailLedger(fileDir) as SentEmailLedger],
])('the sent-email ledger in %s', (_name, ledgerOf) => {
  it('remembers a sent email by its message id', async () => {
    const ledger = ledgerOf();
    const sent = { messageId: messageId(), sentAt: '2026-03-04T05:06:07.891Z' };

    expect(await ledger.find(sent.messageId)).toBeUndefined();
    await ledger.record(sent);

    expect(await ledger.find(sent.messageId)).toEqual(sent);
    expect(await ledger.find(messageId())).toBeUndefined();
  });
});

describe('the PostgreSQL ledger', () => {
  it('is shared: what one worker records, another finds', async () => {
    const sent = { messageId: messageId(), sentAt: new Date().toISOString() };
    await new PostgresSentEmailLedger(first).record(sent);

    expect(await new PostgresSentEmailLedger(second).find(sent.messageId)).toEqual(sent);
  });

  it('recording the same email again keeps the first time it was sent', async () => {
    const ledger = new PostgresSentEmailLedger(first);
    const id = messageId();
    await ledger.record({ messageId: id, sentAt: '2026-03-04T05:06:07.000Z' });
    await ledger.record({ messageId: id, sentAt: '2026-03-04T09:00:00.000Z' });

    expect(await ledger.find(id)).toEqual({ messageId: id, sentAt: '2026-03-04T05:06:07.000Z' });
  });
});

describe('claiming a send before it happens', () => {
  it('a first claim is the caller’s, with no earlier attempt', async () => {
    const claim = await new PostgresSentEmailLedger(first).claim(messageId());

    expect(claim).toEqual({ state: 'claimed', claimedAt: expect.any(String), attempts: 1 });
  });

  it('a claimed email is not taken for a sent one', async () => {
    const ledger = new PostgresSentEmailLedger(first);
    const id = messageId();
    await ledger.claim(id);

    expect(await ledger.find(id)).toBeUndefined();
  });

  it('a crash between the claim and the record stays visible: the next attempt sees the earlier claim', async () => {
    const id = messageId();
    const crashed = await new PostgresSentEmailLedger(first).claim(id);

    const retry = await new PostgresSentEmailLedger(second).claim(id);

    expect(retry).toMatchObject({ state: 'claimed', attempts: 2, earlierClaimedAt: crashed.state === 'claimed' ? crashed.claimedAt : 'never', earlierClaimedBy: expect.stringMatching(/:\d+$/) });
    const unconfirmed = await new PostgresSentEmailLedger(first).listUnconfirmed({ limit: 1_000 });
    expect(unconfirmed).toContainEqual({ messageId: id, claimedAt: retry.state === 'claimed' ? retry.claimedAt : '', claimedBy: expect.any(String), attempts: 2 });
  });

  it('once recorded, a claim answers that the email was sent, and it is no longer unconfirmed', async () => {
    const ledger = new PostgresSentEmailLedger(first);
    const id = messageId();
    await ledger.claim(id);
    await ledger.record({ messageId: id, sentAt: '2026-05-06T07:08:09.000Z' });

    expect(await ledger.claim(id)).toEqual({ state: 'sent', sent: { messageId: id, sentAt: '2026-05-06T07:08:09.000Z' } });
    expect(await ledger.find(id)).toEqual({ messageId: id, sentAt: '2026-05-06T07:08:09.000Z' });
    expect((await ledger.listUnconfirmed({ limit: 1_000 })).map((claim) => claim.messageId)).not.toContain(id);
  });

  it('two workers claiming at once: exactly one gets a first claim, the other sees it', async () => {
    const id = messageId();

    const claims = await Promise.all([new PostgresSentEmailLedger(first).claim(id), new PostgresSentEmailLedger(second).claim(id)]);

    expect(claims.map((claim) => claim.state === 'claimed' && claim.earlierClaimedAt === undefined).filter(Boolean)).toHaveLength(1);
    expect(claims.map((claim) => (claim.state === 'claimed' ? claim.attempts : 0)).sort()).toEqual([1, 2]);
  });

  it('listUnconfirmed leaves out claims younger than asked', async () => {
    const ledger = new PostgresSentEmailLedger(first);
    const id = messageId();
    await ledger.claim(id);

    expect((await ledger.listUnconfirmed({ olderThanMs: 60_000, limit: 1_000 })).map((claim) => claim.messageId)).not.toContain(id);
    expect((await ledger.listUnconfirmed({ limit: 1_000 })).map((claim) => claim.messageId)).toContain(id);
  });
});
