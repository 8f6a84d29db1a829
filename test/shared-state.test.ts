import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSharedActivities } from '../activities/index.js';
import { createSmtpMailer, type Mailer } from '../activities/mailer.js';
import { PostgresSentEmailLedger } from '../activities/postgres-sent-email-ledger.js';
import { createApp } from '../api/app.js';
import { createLogger } from '../config/logger.js';
import { openDatabase, type Database } from '../database/index.js';
import { startMailDev, type RunningMailDev } from '../scripts/maildev.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/postgres.js';
import { startSimulator, type RunningSimulator } from '../simulator/app.js';
import { PostgresVault } from '../vault/index.js';
import type { onboardClient } from '../workflows/onboarding.js';
import {
  clientCreatedEvent,
  completedStatus,
  FAST_SETTINGS,
  freePort,
  signedDelivery,
  TEST_DATA_CONVERTER,
  TEST_EMAIL_FROM,
  TEST_LOAD_BALANCER_IP,
  TEST_NETLIFY_TOKEN,
  TEST_OPS_TOKEN,
  TEST_RESELLER_KEY,
  TEST_SIGNUP_URL,
  TEST_WEBHOOK_SECRET,
  testActivities,
  uniqueClient,
} from './support.js';

// Workers and APIs that share nothing but Temporal and PostgreSQL: two workers' worth of processes (each with its
// own pool, vault, ledger, mailer and data folder) on one task queue, two APIs (each with its own pool and vault),
// and CRM deliveries spread over both APIs.
const CLIENTS = 20;
const VAULT_KEY = Buffer.alloc(32, 9);
const silent = createLogger({ level: 'silent' });

interface WorkerProcess {
  database: Database;
  dataDir: string;
  connection: NativeConnection;
  mailer: Mailer;
  worker: Worker;
  run: Promise<void>;
}

interface ApiProcess {
  database: Database;
  url: string;
  close(): Promise<void>;
}

let postgres: EmbeddedPostgres;
let simulator: RunningSimulator;
let mail: RunningMailDev;
let mailDir: string;
let connection: Connection;
let temporal: Client;
const taskQueue = `shared-state-${Math.random().toString(36).slice(2, 10)}`;
const workers: WorkerProcess[] = [];
const apis: ApiProcess[] = [];

async function startWorkerProcess(url: string): Promise<WorkerProcess> {
  const database = openDatabase(url, silent, { applicationName: 'shared-state-worker' });
  await database.migrate();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'shared-state-worker-'));
  const vault = new PostgresVault({ database, key: VAULT_KEY, logger: silent });
  const mailer = createSmtpMailer(mail.smtpUrl, TEST_EMAIL_FROM);
  // The platform activities as the other workflow tests wire them; the signup email on this process's PostgreSQL ledger.
  const activities = {
    ...testActivities({ simulator, vault, mailer, logger: silent, dataDir }),
    ...createSharedActivities({ nextnet: undefined, netlify: undefined, vault, mailer, sentEmails: new PostgresSentEmailLedger(database), logger: silent, signupUrl: TEST_SIGNUP_URL, emailFrom: TEST_EMAIL_FROM, opsAlertTo: undefined }),
  };
  const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
    dataConverter: TEST_DATA_CONVERTER,
    shutdownGraceTime: '1 second',
  });
  return { database, dataDir, connection: nativeConnection, mailer, worker, run: worker.run() };
}

async function startApiProcess(url: string): Promise<ApiProcess> {
  const database = openDatabase(url, silent, { applicationName: 'shared-state-api' });
  await database.migrate();
  const app = createApp({
    config: {
      webhookSecret: TEST_WEBHOOK_SECRET,
      opsApiToken: TEST_OPS_TOKEN,
      availableServices: ['nextnet'],
      defaultServices: ['nextnet'],
      temporal: { address: 'unused', namespace: 'default', taskQueue, startsOwnServer: false, workflowBundlePath: undefined, apiKey: undefined, tls: undefined },
      dns: { pollInitialMs: FAST_SETTINGS.dnsPollInitialMs, pollMaxMs: FAST_SETTINGS.dnsPollMaxMs, deadlineMs: FAST_SETTINGS.dnsDeadlineMs },
      offboardingGraceMs: 0,
    },
    temporal,
    vault: new PostgresVault({ database, key: VAULT_KEY, logger: silent }),
    logger: silent,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    database,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function ops(api: ApiProcess, method: string, urlPath: string, body?: unknown) {
  return fetch(`${api.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${TEST_OPS_TOKEN}`, 'x-ops-actor': 'shared-state test', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

beforeAll(async () => {
  // Worker lifecycle chatter would bury the test output; errors still show.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  postgres = await startEmbeddedPostgres({ port: await freePort(), database: 'shared_state', onProgress: () => {} });
  mailDir = await mkdtemp(path.join(os.tmpdir(), 'shared-state-mail-'));
  simulator = await startSimulator({
    apiKeys: [TEST_RESELLER_KEY],
    netlifyResellerTokens: [TEST_NETLIFY_TOKEN],
    netlify: { loadBalancerIp: TEST_LOAD_BALANCER_IP },
    dnsVerifyAfterMs: 300,
    dns: { port: 0 },
  });
  mail = await startMailDev({ smtpPort: await freePort(), webPort: await freePort(), mailDirectory: mailDir });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, dataConverter: TEST_DATA_CONVERTER });
  // Started side by side, as replicas are: their migrations run at once.
  workers.push(...(await Promise.all([startWorkerProcess(postgres.url), startWorkerProcess(postgres.url)])));
  apis.push(...(await Promise.all([startApiProcess(postgres.url), startApiProcess(postgres.url)])));
});

afterAll(async () => {
  for (const api of apis) await api.close();
  for (const running of workers) running.worker.shutdown();
  for (const running of workers) {
    await running.run.catch(() => undefined);
    await running.connection.close();
    running.mailer.close();
  }
  for (const { database } of [...workers, ...apis]) await database.close();
  await connection?.close();
  await mail?.close();
  await simulator?.close();
  await postgres?.close();
  for (const dir of [mailDir, ...workers.map((w) => w.dataDir)]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe('workers and APIs that share only Temporal and PostgreSQL', () => {
  it('complete every onboarding exactly once and read each other’s secrets', async () => {
    const clients = Array.from({ length: CLIENTS }, () => uniqueClient());

    // Each delivery to one API, and a CRM retry of some (the same delivery id) to the other.
    const accepted = await Promise.all(
      clients.map(async (client, index) => {
        const body = JSON.stringify(clientCreatedEvent(client));
        const headers = signedDelivery(body, { id: `msg_shared_${client.clientId}` });
        const first = apis[index % 2]!;
        const response = await fetch(`${first.url}/webhooks/crm`, { method: 'POST', headers, body });
        expect(response.status, await response.clone().text()).toBeLessThan(300);
        if (index % 3 === 0) {
          const retry = await fetch(`${apis[(index + 1) % 2]!.url}/webhooks/crm`, { method: 'POST', headers, body });
          expect(retry.status, await retry.clone().text()).toBeLessThan(300);
        }
        return ((await response.json()) as { onboardingId: string }).onboardingId;
      }),
    );
    // A second delivery of a few (a new delivery id, as a CRM sending the event again would) to the other API.
    for (const [index, client] of clients.slice(0, 5).entries()) {
      const body = JSON.stringify(clientCreatedEvent(client));
      const response = await fetch(`${apis[(index + 1) % 2]!.url}/webhooks/crm`, { method: 'POST', headers: signedDelivery(body), body });
      expect(response.status, await response.clone().text()).toBeLessThan(300);
    }

    const statuses = await Promise.all(accepted.map((id) => completedStatus(temporal.workflow.getHandle<typeof onboardClient>(id))));
    expect(statuses.every((status) => status.status === 'completed')).toBe(true);

    // One registration per domain at NextNet.
    const response = await fetch(`${simulator.url}/_simulator/domains`);
    const registered = (await response.json()) as { host: string; wordpressApiKey: string }[];
    for (const client of clients) {
      expect(registered.filter((domain) => domain.host === client.domain.toLowerCase()), client.domain).toHaveLength(1);
    }

    // One signup email per client, each with its own Message-ID, and each recorded once in the shared ledger.
    const emails = await mail.emails();
    const messageIds = new Set<string>();
    for (const client of clients) {
      const received = emails.filter((email) => email.to.some((to) => to.address === client.email));
      expect(received, client.email).toHaveLength(1);
      messageIds.add(received[0]!.headers['message-id'] ?? '');
    }
    expect(messageIds.size).toBe(CLIENTS);
    const { rows } = await apis[0]!.database.query<{ message_id: string; state: string; attempts: number }>('SELECT message_id, state, attempts FROM sent_emails');
    expect(rows).toHaveLength(CLIENTS);
    expect(rows.every((row) => row.state === 'sent')).toBe(true);

    // Nothing of the engine's state on the workers' disks: no vault, no ledger files.
    for (const running of workers) expect(await readdir(running.dataDir)).toEqual([]);

    // The WordPress key a worker stored is read through an API; a secret stored through one API is read through the other.
    const [onboardingId] = accepted;
    const issued = registered.find((domain) => domain.host === clients[0]!.domain.toLowerCase())!;
    const stored = await ops(apis[1]!, 'GET', `/v1/onboardings/${onboardingId}/secrets/wordpress-api-key`);
    expect(stored.status).toBe(200);
    expect(await stored.json()).toEqual({ value: issued.wordpressApiKey });

    const replacement = `wp-key-from-ops-${Math.random().toString(36).slice(2)}`;
    const put = await ops(apis[0]!, 'PUT', `/v1/onboardings/${onboardingId}/secrets/wordpress-api-key`, { value: replacement });
    expect(put.status).toBe(200);
    const read = await ops(apis[1]!, 'GET', `/v1/onboardings/${onboardingId}/secrets/wordpress-api-key`);
    expect(await read.json()).toEqual({ value: replacement });

    // Both APIs wrote to one audit trail.
    const audit = await apis[1]!.database.query<{ action: string; outcome: string }>(
      "SELECT action, outcome FROM secret_audit WHERE onboarding_id = $1 AND actor LIKE '%shared-state test%' ORDER BY id",
      [onboardingId],
    );
    expect(audit.rows.map((row) => `${row.action}:${row.outcome}`)).toEqual(['read:revealed', 'write:replaced', 'read:revealed']);
  });
});
