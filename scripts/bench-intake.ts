/**
 * `npm run bench:intake -- [--requests 500] [--concurrency 20] [--json]`
 * Measures the CRM intake on a real Temporal dev server: signed `client.created` deliveries for new clients, then the
 * same deliveries again (duplicates), printing throughput, latency percentiles and the API process's memory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { createApp } from '../api/app.js';
import { DEV_PAYLOAD_KEY } from '../config/index.js';
import { payloadDataConverter } from '../config/payload-codec.js';
import { FileVault } from '../vault/index.js';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { findTemporalCli } from './temporal-cli.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('usage: npm run bench:intake -- [--requests N] [--concurrency C] [--json]  (positive whole numbers)');
  process.exit(2);
}
const progress = (text: string) => {
  if (!values.json) process.stderr.write(`${text}\n`);
};

const cli = findTemporalCli();
if (!cli) {
  console.error('No Temporal CLI found: run `node scripts/setup.mjs` first, or set TEMPORAL_CLI_PATH.');
  process.exit(1);
}
progress('Starting a throwaway Temporal dev server…');
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: cli }, ip: '127.0.0.1', ui: false, searchAttributes: ONBOARDING_SEARCH_ATTRIBUTES, log: { format: 'pretty', level: 'error' } },
  // The intake encrypts each workflow's input as the engine does: part of what is measured.
  client: { dataConverter: payloadDataConverter({ payloadKeys: [DEV_PAYLOAD_KEY] }) },
});
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-intake-'));
const secret = `whsec_${Buffer.from('benchmark-webhook-secret-32-byte').toString('base64')}`;
const silent = pino({ level: 'silent' });
const app = createApp({
  config: {
    webhookSecret: secret,
    opsApiToken: 'bench-ops-token-0123',
    availableServices: ['netlify', 'nextnet'],
    defaultServices: ['netlify', 'nextnet'],
    temporal: { address: env.address, namespace: 'default', taskQueue: 'bench-intake', startsOwnServer: false, workflowBundlePath: undefined, apiKey: undefined, tls: undefined },
    dns: { pollInitialMs: 60_000, pollMaxMs: 1_800_000, deadlineMs: 259_200_000 },
    offboardingGraceMs: 0,
  },
  temporal: env.client,
  vault: new FileVault(path.join(dataDir, 'vault'), Buffer.alloc(32, 9), silent),
  logger: silent,
});
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/crm`;
const webhook = new Webhook(secret);
const run = Date.now().toString(36);

async function phase(name: string): Promise<Record<string, number | string>> {
  progress(`${name}: ${requests} deliveries, ${concurrency} at a time…`);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < requests; i = next++) {
        const body = JSON.stringify({
          type: 'client.created',
          timestamp: new Date().toISOString(),
          data: { clientId: `bench-${run}-${i}`, email: `owner${i}@bench.example`, domain: `bench-${run}-${i}.example.com`, cms: 'wordpress' },
        });
        const id = `msg_${run}_${i}_${name}`;
        const now = new Date();
        const t0 = performance.now();
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': webhook.sign(id, now, body) },
          body,
        });
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    phase: name,
    requests,
    concurrency,
    'req/s': Math.round(requests / seconds),
    'p50 ms': +at(0.5).toFixed(1),
    'p95 ms': +at(0.95).toFixed(1),
    'p99 ms': +at(0.99).toFixed(1),
    'max ms': +latencies.at(-1)!.toFixed(1),
    statuses: [...statuses].map(([status, count]) => `${status}×${count}`).join(' '),
    'rss MiB': Math.round(process.memoryUsage().rss / 2 ** 20),
    'heap MiB': Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}

try {
  const results = [await phase('new clients'), await phase('duplicates')];
  if (values.json) {
    console.log(JSON.stringify({ machine: { cpus: os.cpus().length, node: process.version }, results }));
  } else {
    console.log(`\nCRM intake on a real Temporal dev server (${os.cpus().length} cores, Node ${process.version}); API, server and load generator share the machine:`);
    console.table(results);
  }
} finally {
  server.close();
  server.closeAllConnections();
  await env.teardown();
  await rm(dataDir, { recursive: true, force: true });
}
