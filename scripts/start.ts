/**
 * `npm start`: the whole stack on one machine. An embedded PostgreSQL for the engine's own state (data in
 * .data/postgres), Temporal's dev server (state in .data/), the Netlify and NextNet simulator with its DNS server,
 * MailDev, the worker and the API, each skipped when configuration points at a real one. Ctrl-C stops them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import pretty from 'pino-pretty';
import { PostgresSentEmailLedger } from '../activities/postgres-sent-email-ledger.js';
import { startApiServer } from '../api/server.js';
import { DEV_DEFAULTS, DEV_GHL_WEBHOOK_PRIVATE_KEY, DEV_PAYLOAD_KEY, loadConfigOrExit, type Config } from '../config/index.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import { createLogger } from '../config/logger.js';
import { openDatabase } from '../database/index.js';
import { importFileState } from '../database/import-files.js';
import { siteCreationQueueFor } from '../platforms/netlify/platform.js';
import { startSimulator, type RunningSimulator } from '../simulator/app.js';
import { openVault, resolveVaultKey } from '../vault/index.js';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { configureTemporalRuntime, connectWorker, createOnboardingWorker } from '../worker/index.js';
import { startConfiguredDnsSweep } from '../worker/dns-sweep.js';
import { startMailDev } from './maildev.js';
import { startEmbeddedPostgres } from './postgres.js';
import { ensureTemporalCli } from './temporal-cli.mjs';

const config = loadConfigOrExit();
// Same logger (and redaction) as production; only the output is made readable on a terminal.
const logger = createLogger({ level: config.logLevel }, process.stdout.isTTY ? pretty({ colorize: true, ignore: 'pid,hostname' }) : undefined);
// Worker lifecycle and bundling chatter would bury the stack summary; warnings still show.
configureTemporalRuntime({ logger, logLevel: 'WARN', metricsAddress: config.workerMetricsAddress });
const dataDir = path.resolve(config.dataDir);
await mkdir(dataDir, { recursive: true });

const stops: (() => Promise<void> | void)[] = [];
let stopping = false;
async function stopAll(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\nStopping the onboarding stack…');
    for (const stop of stops.reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((err: unknown) => console.error(`  while stopping: ${(err as Error).message}`));
    }
  }
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// A closed terminal too: the dev server runs in its own process group and would otherwise be left behind.
process.on('SIGHUP', () => void stopAll(0));

const step = (text: string) => console.log(`• ${text}`);
// The API's codec server, where the Temporal UI decrypts client data (api/codec-server.ts).
const codecEndpoint = `http://127.0.0.1:${config.port}/codec`;

try {
  const lines: string[] = [];

  // The engine's own state (vault, audit trail, sent-email ledger): DATABASE_URL, else an embedded PostgreSQL that
  // starts first and stops last.
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    const postgresDir = path.join(dataDir, 'postgres');
    step(`Starting PostgreSQL (data in ${displayPath(postgresDir)}, port ${config.devStack.postgresPort})…`);
    const postgres = await startEmbeddedPostgres({
      dataDir: postgresDir,
      port: config.devStack.postgresPort,
      database: 'onboarding',
      onProgress: (line) => console.log(`  ${line}`),
    });
    stops.push(() => postgres.close());
    databaseUrl = postgres.url;
    lines.push(`PostgreSQL      ${withoutPassword(postgres.url)}   data: ${displayPath(postgresDir)}/ (embedded; POSTGRES_PORT)`);
  } else {
    step(`Using the PostgreSQL at ${withoutPassword(databaseUrl)} (DATABASE_URL)`);
    lines.push(`PostgreSQL      ${withoutPassword(databaseUrl)} (DATABASE_URL)`);
  }
  const database = openDatabase(databaseUrl, logger);
  // Closed after the worker and the API have stopped (stops run in reverse), before the server itself.
  stops.push(() => database.close());
  const migration = await database.migrate();
  if (migration.applied.length > 0) step(`Database schema migrated to version ${migration.version} (${migration.applied.join(', ')})`);

  if (config.temporal.startsOwnServer) {
    const cli = await ensureTemporalCli();
    const dbFile = path.join(dataDir, 'temporal.db');
    step(`Starting the Temporal dev server (state in ${displayPath(dbFile)})…`);
    const server = startTemporalDevServer(cli, dbFile, config.devStack.temporalPort, config.devStack.temporalUiPort, codecEndpoint);
    stops.push(() => stopChild(server));
    await waitForTemporal(config.temporal, server);
    lines.push(`Temporal        ${config.temporal.address}   Web UI http://127.0.0.1:${config.devStack.temporalUiPort}`);
  } else {
    step(`Using the Temporal server at ${config.temporal.address} (TEMPORAL_ADDRESS)`);
    await waitForTemporal(config.temporal);
    await ensureSearchAttributes(config.temporal);
    lines.push(`Temporal        ${config.temporal.address} (external)`);
  }

  const simulatedCrms = Object.values(config.crmApis).some((crm) => typeof crm === 'object' && crm.usesSimulator);
  const crmHowTo: string[] = [];
  if (config.reseller.usesSimulator || config.netlify.usesSimulator || simulatedCrms) {
    const simulated = [config.netlify.usesSimulator ? 'Netlify' : null, config.reseller.usesSimulator ? 'NextNet' : null, simulatedCrms ? 'the CRMs' : null].filter(Boolean).join(', ');
    step(`Starting the ${simulated} simulator and its DNS server…`);
    const simulator = await startSimulator({
      port: config.devStack.simulatorPort,
      apiKeys: [config.reseller.apiKey],
      netlifyResellerTokens: [config.netlify.resellerToken],
      netlify: { loadBalancerIp: config.netlify.loadBalancerIp },
      dnsVerifyAfterMs: config.devStack.simulatorDnsVerifyAfterMs,
      stateFile: path.join(dataDir, 'simulator-state.json'),
      dns: { port: config.devStack.simulatorDnsPort },
      logger: logger.child({ component: 'simulator' }),
      // The simulated CRMs accept the engine's tokens and sign their webhooks the way the engine's intake checks them.
      crm: {
        webhookUrl: config.devStack.simulatorCrmWebhookUrl,
        hubspot: { accessTokens: [config.crmApis.hubspot?.accessToken ?? DEV_DEFAULTS.HUBSPOT_ACCESS_TOKEN], clientSecret: config.crmIntake.hubspot?.clientSecret },
        pipedrive: { apiTokens: [config.crmApis.pipedrive?.apiToken ?? DEV_DEFAULTS.PIPEDRIVE_API_TOKEN], webhookUser: config.crmIntake.pipedrive?.user, webhookPassword: config.crmIntake.pipedrive?.password },
        gohighlevel: {
          apiTokens: [config.crmApis.gohighlevel?.apiToken ?? DEV_DEFAULTS.GHL_API_TOKEN],
          // The public development pair, which `npm run send-webhook` signs with too; a GHL_WEBHOOK_PUBLIC_KEY of your own
          // leaves the simulator its own key (printed below).
          ...(config.crmIntake.gohighlevel?.publicKey === DEV_DEFAULTS.GHL_WEBHOOK_PUBLIC_KEY ? { webhookPrivateKey: DEV_GHL_WEBHOOK_PRIVATE_KEY } : {}),
        },
      },
    });
    stops.push(() => simulator.close());
    if (config.reseller.usesSimulator) lines.push(`NextNet (sim)   ${simulator.baseUrl}   state: ${simulator.url}/_simulator/domains`);
    if (config.netlify.usesSimulator) {
      lines.push(`Netlify (sim)   ${simulator.netlifyBaseUrl}   state: ${simulator.url}/_simulator/netlify/sites`);
      lines.push(`                reseller token: ${config.netlify.resellerToken === DEV_DEFAULTS.NETLIFY_RESELLER_TOKEN ? `${DEV_DEFAULTS.NETLIFY_RESELLER_TOKEN} (development token, NETLIFY_RESELLER_TOKEN)` : 'NETLIFY_RESELLER_TOKEN'}`);
    }
    if (simulatedCrms) {
      const crm = simulatedCrmLines(config, simulator);
      lines.push(...crm.lines);
      crmHowTo.push(...crm.howTo);
    }
    lines.push(`DNS (sim)       ${simulator.dns?.address ?? 'off'}   the client domains' records (DNS_RESOLVERS=${config.dnsResolvers.join(',') || 'system'})`);
  }
  if (!config.reseller.usesSimulator) lines.push(`NextNet         ${config.reseller.apiUrl} (RESELLER_API_URL)`);
  if (!config.netlify.usesSimulator) lines.push(`Netlify         ${config.netlify.apiUrl} (NETLIFY_API_URL)`);
  lines.push(`Plan            ${config.defaultServices.join(' + ')} by default (ONBOARDING_SERVICES; a delivery may name its own in data.services)`);

  if (config.email.usesMailDev) {
    step('Starting MailDev…');
    const mail = await startMailDev({
      smtpPort: config.devStack.mailDevSmtpPort,
      webPort: config.devStack.mailDevWebPort,
      mailDirectory: path.join(dataDir, 'maildev'),
    });
    stops.push(() => mail.close());
    lines.push(`MailDev         SMTP ${mail.smtpUrl}   inbox ${mail.webUrl}`);
  } else {
    lines.push(`SMTP            ${config.email.smtpUrl.replace(/\/\/[^@/]*@/, '//***@')} (SMTP_URL)`);
  }

  // A vault and a sent-email ledger kept in files under DATA_DIR by an earlier version move into PostgreSQL, once.
  const { key: vaultKey } = await resolveVaultKey(config);
  const imported = await importFileState({ dataDir, vaultKey, database, logger });
  if (imported.status === 'imported') {
    const { secrets, revokedSecrets, secretsAlreadyPresent, unreadableFiles, sentEmails, unreadableSentEmails } = imported.summary;
    step(
      `Moved the file state under ${displayPath(dataDir)} into PostgreSQL: ${secrets} secret(s), ${revokedSecrets} revocation(s), ${sentEmails} sent email(s)` +
        (secretsAlreadyPresent ? `; ${secretsAlreadyPresent} already there` : '') +
        (unreadableFiles + unreadableSentEmails ? `; ${unreadableFiles + unreadableSentEmails} unreadable file(s) left in place (see the log)` : ''),
    );
  }
  const { vault, devKeyFile } = await openVault(config, logger, database);
  const sentEmails = new PostgresSentEmailLedger(database);
  lines.push(`Vault           PostgreSQL (audit trail in secret_audit)   key: ${devKeyFile ? `${displayPath(devKeyFile)} (generated dev key, mode 0600)` : 'VAULT_KEY'}`);

  step('Starting the worker (bundling workflows)…');
  const workerConnection = await connectWorker(config);
  const workers = await createOnboardingWorker({
    config,
    logger,
    vault,
    sentEmails,
    connection: workerConnection,
    workflowBundlePath: config.temporal.workflowBundlePath,
  });
  const workerRun = workers.run();
  workerRun.catch((err: unknown) => {
    logger.error({ err }, 'worker stopped unexpectedly');
    void stopAll(1);
  });
  stops.push(async () => {
    workers.shutdown();
    await workerRun.catch(() => undefined);
    workers.close();
    await workerConnection.close();
  });
  // Wakes onboardings whose domain NextNet now reads verified (DNS_SWEEP_INTERVAL); stopped before the worker.
  const sweep = await startConfiguredDnsSweep(config, logger.child({ component: 'worker' }));
  if (sweep) stops.push(() => sweep.stop());
  lines.push(`Worker          task queues "${config.temporal.taskQueue}" and "${siteCreationQueueFor(config.temporal.taskQueue)}" (at most ${config.netlify.siteCreatesPerMinute} site creations a minute)   metrics http://${config.workerMetricsAddress}/metrics`);
  if (sweep) lines.push(`                DNS sweep: NextNet's domain list every ${Math.round(config.dnsSweepIntervalMs! / 1000)} s wakes onboardings whose domain verified (DNS_SWEEP_INTERVAL)`);

  const api = await startApiServer({ config, logger, vault });
  stops.push(() => api.close());
  lines.push(`API             ${api.url}   (POST /webhooks/crm, GET /v1/onboardings/{id})`);
  // Where the secrets come from; a value only when it is the public development default.
  lines.push(
    `                webhook secret: ${config.webhookSecret === DEV_DEFAULTS.CRM_WEBHOOK_SECRET ? `${DEV_DEFAULTS.CRM_WEBHOOK_SECRET} (the public development default; CRM_WEBHOOK_SECRET overrides it)` : 'from CRM_WEBHOOK_SECRET (not shown; npm run send-webhook signs with it too)'}`,
  );
  lines.push(
    `                ops token:      ${config.opsApiToken === DEV_DEFAULTS.OPS_API_TOKEN ? `${DEV_DEFAULTS.OPS_API_TOKEN} (the public development default, which npx onboarding uses too; OPS_API_TOKEN overrides it)` : 'from OPS_API_TOKEN (not shown; npx onboarding reads the same variable)'}`,
  );
  const [payloadKey] = config.payloadKeys;
  lines.push(
    `Decryption      client data is encrypted in Temporal (key "${payloadKey?.id}"${payloadKey === DEV_PAYLOAD_KEY ? ', the development key; PAYLOAD_KEYS overrides it' : ', from PAYLOAD_KEYS'})`,
  );
  lines.push(`                to read it in the Temporal UI, log in once with the ops token at ${codecEndpoint}/login (it says how to set up the UI)`);

  console.log(`\nThe onboarding stack is up:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  console.log('Send a signed test webhook:  npm run send-webhook -- --domain acme-plumbing.com --email owner@acme-plumbing.com [--services netlify,nextnet]');
  console.log('                             npm run send-webhook -- --type client.churned --domain acme-plumbing.com   (or client.reactivated)');
  if (crmHowTo.length > 0) console.log(`Or create a client in a simulated CRM; its webhook starts the onboarding:\n${crmHowTo.map((l) => `  ${l}`).join('\n')}`);
  console.log('List onboardings:            npx onboarding list   (npx onboarding show <id> for one)');
  console.log('Press Ctrl-C to stop everything.\n');
} catch (err) {
  console.error(`\nThe stack did not start: ${(err as Error).message}`);
  await stopAll(1);
}

function startTemporalDevServer(cli: string, dbFile: string, port: number, uiPort: number, codecEndpoint: string): ChildProcess {
  const child = spawn(
    cli,
    [
      'server', 'start-dev', '--db-filename', dbFile, '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'error',
      // The UI decodes through the API's codec server; the dev server cannot tell it to send credentials, so each
      // browser ticks "Include cross-origin credentials" once (the login page says so).
      '--ui-codec-endpoint', codecEndpoint,
      ...ONBOARDING_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${searchAttributeTypeName(key.type)}`]),
    ],
    // Its own process group: Ctrl-C reaches us once, and we stop it after the worker has drained.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const relay = (chunk: Buffer) => {
    if (stopping) return;
    for (const line of chunk.toString().split('\n')) if (line.trim()) console.log(`  [temporal] ${line}`);
  };
  child.stdout?.on('data', relay);
  child.stderr?.on('data', relay);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`The Temporal dev server exited (${signal ?? `code ${code}`}). Is port ${port} or ${uiPort} already in use?`);
      void stopAll(1);
    }
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitForTemporal(temporal: Config['temporal'], server?: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const { address } = temporal;
  const started = Date.now();
  let reported = 0;
  for (;;) {
    try {
      const connection = await Connection.connect({ ...temporalConnectionOptions(temporal), connectTimeout: 1_000 });
      await connection.close();
      return;
    } catch (err) {
      if (server && server.exitCode !== null) throw new Error('the Temporal dev server exited during start-up');
      const waited = Math.round((Date.now() - started) / 1000);
      if (Date.now() - started > timeoutMs) throw new Error(`Temporal at ${address} did not answer within ${timeoutMs / 1000} s: ${(err as Error).message}`);
      if (waited >= reported + 5) {
        reported = waited;
        console.log(`  still waiting for Temporal at ${address} (${waited} s)…`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}


/** The CLI's spelling of a search attribute type (Keyword, Bool, ...). */
function searchAttributeTypeName(valueType: string): string {
  return { KEYWORD: 'Keyword', BOOL: 'Bool', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' }[valueType] ?? valueType;
}

/** On a server we did not start, creates our search attributes if missing, or says how to. */
async function ensureSearchAttributes(temporal: Config['temporal']): Promise<void> {
  const { namespace } = temporal;
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = ONBOARDING_SEARCH_ATTRIBUTES.filter((key) => !customAttributes || !(key.name in customAttributes));
    if (missing.length === 0) return;
    step(`Creating search attributes ${missing.map((k) => k.name).join(', ')} in namespace ${namespace}…`);
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!])),
    });
  } catch (err) {
    const flags = ONBOARDING_SEARCH_ATTRIBUTES.map((k) => `--name ${k.name} --type ${searchAttributeTypeName(k.type)}`).join(' ');
    throw new Error(`the search attributes could not be checked or created (${(err as Error).message}); create them with: temporal operator search-attribute create --namespace ${namespace} ${flags}`);
  } finally {
    await connection.close();
  }
}

/**
 * Where each simulated CRM is, the token it takes (shown when it is the public development one) and where its webhooks
 * go; and the commands that create a client there the way an agency would, so its webhook starts an onboarding.
 */
function simulatedCrmLines(config: Config, simulator: RunningSimulator): { lines: string[]; howTo: string[] } {
  const lines: string[] = [];
  const howTo: string[] = [];
  const webhooks = (source: string) => `webhooks to ${config.devStack.simulatorCrmWebhookUrl}/${source}`;
  const shown = (token: string, devToken: string, variable: string) => (token === devToken ? token : `$${variable}`);
  const json = (body: unknown) => `-H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`;
  const { hubspot, pipedrive, gohighlevel } = config.crmApis;
  if (hubspot?.usesSimulator) {
    const token = shown(hubspot.accessToken, DEV_DEFAULTS.HUBSPOT_ACCESS_TOKEN, 'HUBSPOT_ACCESS_TOKEN');
    lines.push(`HubSpot (sim)   ${simulator.crmBaseUrls.hubspot}   token: ${token === DEV_DEFAULTS.HUBSPOT_ACCESS_TOKEN ? `${token} (development token, HUBSPOT_ACCESS_TOKEN)` : 'HUBSPOT_ACCESS_TOKEN'}   ${webhooks('hubspot')}`);
    howTo.push(
      `HubSpot contact:     curl -s -X POST ${simulator.crmBaseUrls.hubspot}/crm/v3/objects/contacts -H 'Authorization: Bearer ${token}' ${json({ properties: { email: 'owner@acme-plumbing.com', firstname: 'Ada', lastname: 'Lovelace', website: 'acme-plumbing.com' } })}`,
    );
  }
  if (pipedrive?.usesSimulator) {
    const token = shown(pipedrive.apiToken, DEV_DEFAULTS.PIPEDRIVE_API_TOKEN, 'PIPEDRIVE_API_TOKEN');
    lines.push(`Pipedrive (sim) ${simulator.crmBaseUrls.pipedrive}   token: ${token === DEV_DEFAULTS.PIPEDRIVE_API_TOKEN ? `${token} (development token, PIPEDRIVE_API_TOKEN)` : 'PIPEDRIVE_API_TOKEN'}   ${webhooks('pipedrive')}`);
    const call = (method: string, path: string, body: unknown) => `curl -s -X ${method} ${simulator.crmBaseUrls.pipedrive}${path} -H 'x-api-token: ${token}' ${json(body)}`;
    howTo.push(
      `Pipedrive won deal:  ${call('POST', '/api/v2/organizations', { name: 'Acme Plumbing', custom_fields: { [pipedrive.websiteField ?? DEV_DEFAULTS.PIPEDRIVE_WEBSITE_FIELD]: 'acme-plumbing.com' } })}`,
      `                     ${call('POST', '/api/v2/persons', { name: 'Ada Lovelace', emails: [{ value: 'owner@acme-plumbing.com', primary: true }], org_id: '<organization id>' }).replace('"<organization id>"', '<organization id>')}`,
      `                     ${call('POST', '/api/v2/deals', { title: 'Acme Plumbing website', person_id: '<person id>' }).replace('"<person id>"', '<person id>')}`,
      `                     ${call('PATCH', '/api/v2/deals/<deal id>', { status: 'won' })}`,
    );
  }
  if (gohighlevel?.usesSimulator) {
    const token = shown(gohighlevel.apiToken, DEV_DEFAULTS.GHL_API_TOKEN, 'GHL_API_TOKEN');
    lines.push(`GoHighLevel (sim) ${simulator.crmBaseUrls.gohighlevel}   token: ${token === DEV_DEFAULTS.GHL_API_TOKEN ? `${token} (development token, GHL_API_TOKEN)` : 'GHL_API_TOKEN'}   ${webhooks('gohighlevel')}`);
    const signingKey = simulator.knobs.crm.gohighlevel.webhookPublicKey();
    if (config.crmIntake.gohighlevel && config.crmIntake.gohighlevel.publicKey !== signingKey) {
      lines.push(`                  its webhooks are signed with its own key: set GHL_WEBHOOK_PUBLIC_KEY=${signingKey} for the engine to accept them`);
    }
    howTo.push(
      `GoHighLevel contact: curl -s -X POST ${simulator.crmBaseUrls.gohighlevel}/contacts/ -H 'Authorization: Bearer ${token}' -H 'Version: 2021-07-28' ${json({ locationId: simulator.knobs.crm.gohighlevel.locationId(), email: 'owner@acme-plumbing.com', firstName: 'Ada', website: 'acme-plumbing.com' })}`,
    );
  }
  return { lines, howTo };
}

/** A database URL fit to print: the password left out. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL (not shown)';
  }
}

/** Paths under the working directory read better relative; others stay absolute. */
function displayPath(target: string): string {
  const relative = path.relative(process.cwd(), target);
  return relative.startsWith('..') ? target : relative;
}
