import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SearchAttributeType } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { DEV_DEFAULTS, ENV_VARIABLE_NAMES, loadConfig } from '../config/index.js';
import { NODE24_MAJOR, NODE24_PACKAGES } from '../scripts/setup.mjs';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
// For its Runtime.install: worker lifecycle chatter hides test output, as in every workflow test.
import './support.js';

// No Docker engine runs these files here, so this test holds them to the code instead.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

interface ComposeService {
  image?: string;
  build?: string | { context?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  ports?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string | string[] };
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const APP_SERVICES = ['worker', 'api'] as const;
const REQUIRED_SECRETS = ['RESELLER_API_KEY', 'CRM_WEBHOOK_SECRET', 'OPS_API_TOKEN', 'VAULT_KEY', 'PAYLOAD_KEYS'] as const;
// What an operator would export before `docker compose up`: only what the file demands with ${NAME:?...}.
const OPERATOR_ENVIRONMENT: Record<string, string> = {
  RESELLER_API_KEY: 'sk_org_live_0123456789',
  CRM_WEBHOOK_SECRET: 'whsec_' + Buffer.from('a-production-webhook-secret-32b!').toString('base64'),
  OPS_API_TOKEN: 'ops-token-0123456789',
  VAULT_KEY: 'b71f0c9d3e5a28c4f6e1d07a9b3c52e8a4d6f19c0e7b352a8d1c4f6e9b0a7d32',
  PAYLOAD_KEYS: '2026-01:q3yQm0F9cT1uX8kVbR2wZ5eJ7hL4pN6sA0dG3iK9oM8=',
  EMAIL_FROM: 'Acme Agency <onboarding@agency.example>',
  TEMPORAL_DB_PASSWORD: 'a-database-password',
};

let composeText: string;
let compose: ComposeFile;
let dockerfile: string;

beforeAll(async () => {
  composeText = await readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  // merge: the worker and the API share one environment block through a YAML merge key, as Compose reads it.
  compose = parse(composeText, { merge: true }) as ComposeFile;
  dockerfile = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
});

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

function environmentOf(name: string): Record<string, string> {
  const environment = service(name).environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => [entry.split('=')[0] ?? entry, entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

function words(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(' ') : (value ?? '');
}

function dependencyCondition(name: string, on: string): string | undefined {
  const dependsOn = service(name).depends_on ?? {};
  if (Array.isArray(dependsOn)) return dependsOn.includes(on) ? 'service_started' : undefined;
  const entry = dependsOn[on];
  return entry ? (entry.condition ?? 'service_started') : undefined;
}

function namedVolumeMounts(name: string): { source: string; target: string }[] {
  return (service(name).volumes ?? []).flatMap((volume) => {
    if (typeof volume !== 'string') return volume.source ? [{ source: volume.source, target: volume.target }] : [];
    const [source, target] = volume.split(':');
    return source && target ? [{ source, target }] : [];
  });
}

/** What Compose puts in a container's environment: ${NAME:-default}, ${NAME:?message} and ${NAME} resolved against `provided`. */
function interpolate(value: string, provided: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (_whole, name: string, operator: string | undefined, rest: string | undefined) => {
    const given = provided[name];
    if (given !== undefined && given !== '') return given;
    if (operator?.endsWith('?')) throw new Error(`Compose would refuse to start: ${name} is required (${rest})`);
    return operator?.endsWith('-') ? (rest ?? '') : '';
  });
}

/** `--name X --type Y` pairs of the `temporal operator search-attribute create` call in a shell script. */
function searchAttributesCreatedBy(script: string): Record<string, string> {
  const createCall = /temporal operator search-attribute create[^\n]*/.exec(script)?.[0] ?? '';
  return Object.fromEntries([...createCall.matchAll(/--name\s+(\S+)\s+--type\s+(\S+)/g)].map((match) => [match[1], match[2]]));
}

// The CLI spells the SDK's KEYWORD_LIST as KeywordList, BOOL as Bool.
function cliTypeName(type: SearchAttributeType): string {
  return type
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join('');
}

function dockerfileStages(text: string): string[] {
  return text.split(/^FROM\s/m).slice(1);
}

describe('docker-compose.yml', () => {
  it("runs PostgreSQL, Temporal, the search-attribute set-up, the engine database's set-up, the Temporal UI, MailDev, the worker and the API", () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'temporal-admin-tools', 'onboarding-database', 'temporal-ui', 'maildev', 'worker', 'api']),
    );
  });

  it("builds the worker and the API as one image from this project's Dockerfile and starts each with its own entry point", () => {
    for (const name of APP_SERVICES) {
      const build = service(name).build;
      expect(typeof build === 'string' ? build : build?.context, `${name} build context`).toBe('.');
    }
    expect(service('worker').image).toBe(service('api').image);
    expect(words(service('worker').command)).toBe('tsx worker/main.ts');
    expect(words(service('api').command)).toBe('tsx api/main.ts');
    expect(existsSync(path.join(ROOT, 'worker/main.ts')) && existsSync(path.join(ROOT, 'api/main.ts'))).toBe(true);
  });

  it('gives the worker and the API only environment variables the configuration reads', () => {
    for (const name of APP_SERVICES) {
      const unknown = Object.keys(environmentOf(name)).filter((key) => !(ENV_VARIABLE_NAMES as string[]).includes(key));
      expect(unknown, `${name} sets variables config/index.ts never reads`).toEqual([]);
    }
  });

  it('makes the operator supply every secret and holds no secret value itself', () => {
    for (const name of APP_SERVICES) {
      const environment = environmentOf(name);
      for (const secret of REQUIRED_SECRETS) {
        expect(environment[secret], `${name} ${secret}`).toMatch(new RegExp(`^\\$\\{${secret}:\\?[^}]+\\}$`));
      }
    }
    // The database password has no default either: it is demanded wherever it is used.
    const passwordUses = [...composeText.matchAll(/\$\{TEMPORAL_DB_PASSWORD([^}]*)\}/g)].map((match) => match[1]);
    expect(passwordUses.length).toBeGreaterThan(0);
    for (const use of passwordUses) expect(use).toMatch(/^:\?/);
    for (const devSecret of [DEV_DEFAULTS.RESELLER_API_KEY, DEV_DEFAULTS.CRM_WEBHOOK_SECRET, DEV_DEFAULTS.OPS_API_TOKEN]) {
      expect(composeText).not.toContain(devSecret);
    }
  });

  it('turns only the required secrets into a valid production configuration for both the worker and the API', () => {
    for (const name of APP_SERVICES) {
      const environment = Object.fromEntries(Object.entries(environmentOf(name)).map(([key, value]) => [key, interpolate(value, OPERATOR_ENVIRONMENT)]));
      const config = loadConfig(environment);

      expect(config.env).toBe('production');
      expect(config.temporal.address).toBe('temporal:7233');
      expect(config.reseller.apiUrl).toBe('https://prod.nextnet.ai/accounts');
      expect(config.email.smtpUrl).toBe('smtp://maildev:1025');
      expect(config.databaseUrl).toBe(`postgres://temporal:${OPERATOR_ENVIRONMENT.TEMPORAL_DB_PASSWORD}@postgresql:5432/onboarding`);
    }
    expect(() => interpolate(environmentOf('api').VAULT_KEY ?? '', {})).toThrow(/VAULT_KEY is required/);
    expect(() => interpolate(environmentOf('worker').DATABASE_URL ?? '', {})).toThrow(/TEMPORAL_DB_PASSWORD is required/);
  });

  it("gives the worker and the API their own database on Temporal's PostgreSQL, created before they start, and no shared data volume", () => {
    const postgresql = environmentOf('postgresql');
    const setUp = service('onboarding-database');
    const setUpEnvironment = environmentOf('onboarding-database');
    const script = words(setUp.command);

    for (const name of APP_SERVICES) {
      const url = new URL(interpolate(environmentOf(name).DATABASE_URL ?? '', OPERATOR_ENVIRONMENT));
      expect(url.hostname, `${name} DATABASE_URL host`).toBe('postgresql');
      expect(url.username).toBe(postgresql.POSTGRES_USER);
      expect(environmentOf(name).DATABASE_URL).toContain(`:${postgresql.POSTGRES_PASSWORD}@`);
      const database = url.pathname.slice(1);
      expect(database).toBe('onboarding');
      // The set-up job creates exactly that database, with the same credentials, once PostgreSQL is healthy.
      expect(script).toContain(`CREATE DATABASE ${database}`);
      expect(script).toContain(`datname = '${database}'`);
      expect(dependencyCondition(name, 'onboarding-database'), name).toBe('service_completed_successfully');
      // Workers and APIs share nothing but Temporal and PostgreSQL: `--scale worker=N` needs no common disk.
      expect(service(name).volumes ?? [], `${name} volumes`).toEqual([]);
      expect(environmentOf(name).DATA_DIR, `${name} DATA_DIR`).toBeUndefined();
    }
    expect(setUpEnvironment.PGHOST).toBe('postgresql');
    expect(setUpEnvironment.PGUSER).toBe(postgresql.POSTGRES_USER);
    expect(setUpEnvironment.PGPASSWORD).toBe(postgresql.POSTGRES_PASSWORD);
    expect(dependencyCondition('onboarding-database', 'postgresql')).toBe('service_healthy');
    expect(words(setUp.entrypoint)).toMatch(/^\/bin\/(ba)?sh -c$/);
  });

  it('keeps Temporal on the PostgreSQL service and starts it once PostgreSQL is healthy', () => {
    const temporal = environmentOf('temporal');
    const postgresql = environmentOf('postgresql');

    expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    expect(temporal.DB).toMatch(/^postgres12/);
    expect(temporal.POSTGRES_SEEDS).toBe('postgresql');
    expect(temporal.POSTGRES_USER).toBe(postgresql.POSTGRES_USER);
    expect(temporal.POSTGRES_PWD).toBe(postgresql.POSTGRES_PASSWORD);
    expect(dependencyCondition('temporal', 'postgresql')).toBe('service_healthy');
    expect(words(service('postgresql').healthcheck?.test)).toContain('pg_isready');
    expect(Object.keys(compose.volumes ?? {})).toContain(namedVolumeMounts('postgresql')[0]?.source);
  });

  it('publishes Temporal, its Web UI and MailDev on the loopback interface only: none of them has authentication', () => {
    for (const name of ['temporal', 'temporal-ui', 'maildev']) {
      const ports = (service(name).ports ?? []).map(String);
      expect(ports.length).toBeGreaterThan(0);
      for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('creates exactly the search attributes the workflows set, in their namespace, before the worker and the API start', () => {
    const adminTools = service('temporal-admin-tools');
    const script = words(adminTools.command);
    const expected = Object.fromEntries(ONBOARDING_SEARCH_ATTRIBUTES.map((key) => [key.name, cliTypeName(key.type)]));

    expect(searchAttributesCreatedBy(script)).toEqual(expected);
    expect(script).toContain(`--namespace ${environmentOf('worker').TEMPORAL_NAMESPACE}`);
    expect(environmentOf('temporal-admin-tools').TEMPORAL_ADDRESS).toBe(environmentOf('worker').TEMPORAL_ADDRESS);
    // The admin-tools image's own entrypoint only sleeps: without a shell entrypoint the script never runs.
    expect(words(adminTools.entrypoint)).toMatch(/^\/bin\/(ba)?sh -c$/);
    for (const name of APP_SERVICES) {
      expect(dependencyCondition(name, 'temporal-admin-tools'), name).toBe('service_completed_successfully');
    }
  });

  it("checks the API's health on /readyz at the port the API listens on and publishes that port", () => {
    const port = environmentOf('api').PORT;
    expect(words(service('api').healthcheck?.test)).toContain(`:${port}/readyz`);
    expect((service('api').ports ?? []).map(String)).toContainEqual(expect.stringMatching(new RegExp(`:${port}$`)));
  });
});

describe('Dockerfile', () => {
  it('builds on node:24-bookworm-slim, the Node the project runs on everywhere, and runs as a non-root user in production mode', () => {
    const stages = dockerfileStages(dockerfile);
    const runtime = stages.at(-1) ?? '';

    expect(stages.length).toBeGreaterThan(1);
    const earlierStages: string[] = [];
    for (const stage of stages) {
      const [base, , name] = stage.split(/\s+/);
      expect([...earlierStages, 'node:24-bookworm-slim'], `FROM ${base}`).toContain(base);
      if (name) earlierStages.push(name);
    }
    expect(runtime).toMatch(/^USER\s+(?!root\b|0\b)\S+/m);
    expect(runtime).toMatch(/NODE_ENV=production/);
  });

  it('runs the Node major that development and CI run (scripts/node24.mjs) and that package.json engines asks for', async () => {
    const nodeBases = dockerfileStages(dockerfile)
      .map((stage) => stage.split(/\s+/)[0] ?? '')
      .filter((base) => base.startsWith('node:'));
    const { engines } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

    expect(nodeBases.length).toBeGreaterThan(0);
    for (const base of nodeBases) expect(base).toBe(`node:${NODE24_MAJOR}-bookworm-slim`);
    expect(engines.node).toBe(`>=${NODE24_MAJOR}`);
    for (const { name, version } of Object.values(NODE24_PACKAGES)) expect(`${name}@${version}`).toMatch(new RegExp(`@${NODE24_MAJOR}\\.`));
  });

  it('prebuilds the workflow bundle with scripts/bundle-workflows.ts and points WORKFLOW_BUNDLE_PATH at it in the runtime image', () => {
    const bundlePath = /^RUN\s+npx tsx scripts\/bundle-workflows\.ts\s+(\S+)/m.exec(dockerfile)?.[1];
    const runtime = dockerfileStages(dockerfile).at(-1) ?? '';

    expect(bundlePath).toBeDefined();
    expect(runtime).toContain(`WORKFLOW_BUNDLE_PATH=${bundlePath}`);
    const copiesBundle = runtime.split('\n').some((line) => line.startsWith('COPY --from=') && line.split(/\s+/)[2] === bundlePath);
    expect(copiesBundle, `the runtime stage copies ${bundlePath} from the stage that built it`).toBe(true);
  });

  it('.dockerignore keeps secrets, local state, the development Temporal CLI and node_modules out of the image', async () => {
    const ignored = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['.env', '.data', '.tools', 'node_modules', '.git']));
  });
});

describe('scripts/bundle-workflows.ts', () => {
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'bundle-workflows-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('writes a workflow bundle that a worker loads', async () => {
    const bundlePath = path.join(workDir, 'not', 'yet', 'there', 'workflow-bundle.js');
    const { stdout } = await run(tsx, ['scripts/bundle-workflows.ts', bundlePath], { cwd: ROOT });

    expect(stdout).toContain(bundlePath);
    expect((await stat(bundlePath)).size).toBeGreaterThan(100 * 1024);
    expect(await readFile(bundlePath, 'utf8')).toContain('onboardClient');

    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    try {
      const worker = await Worker.create({
        connection,
        taskQueue: `bundle-check-${Math.random().toString(36).slice(2, 10)}`,
        workflowBundle: { codePath: bundlePath },
      });
      await worker.runUntil(Promise.resolve());
    } finally {
      await connection.close();
    }
  });

  it('prints its usage and exits 2 without an output path', async () => {
    const failure = await run(tsx, ['scripts/bundle-workflows.ts'], { cwd: ROOT }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain('usage: tsx scripts/bundle-workflows.ts <output-path>');
  });
});
