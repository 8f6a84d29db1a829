/**
 * `npm run send-webhook -- [--type client.created|client.churned|client.reactivated] ...`
 * Sends a CRM delivery of any type the intake accepts to the running API, signed with CRM_WEBHOOK_SECRET as a CRM
 * would (in development, the public default `npm start` prints).
 *
 *   client.created      --domain <d> --email <e> [--client-id <id>] [--name] [--cms] [--tier] [--services netlify,nextnet]
 *   client.churned      --client-id <id> (or --domain <d>, for the id client.created derived) [--reason <text>]
 *   client.reactivated  --client-id <id> (or --domain <d>)
 *
 * Every type takes `--timestamp <ISO date-time>` (the event's own time, default now: a client who comes back after
 * being offboarded is a client.created with a timestamp after the offboarding finished), `--url` and `--json`.
 *
 * `--source hubspot|pipedrive|gohighlevel` sends a delivery of that CRM's own webhook instead (POST /webhooks/<source>),
 * signed the way the CRM signs it with this engine's settings, so ops can test a configuration:
 *   --event created   a contact created (HubSpot contact.creation, Pipedrive person.create, HighLevel ContactCreate)
 *   --event won       a deal won (HubSpot dealstage to HUBSPOT_WON_STAGE, Pipedrive deal won, HighLevel opportunity won)
 * with [--account <portal/company/location id>] [--contact-id <id>] [--deal-id <id>] (random when not given),
 * HighLevel's --email, --name (company) and --domain (website), Pipedrive's --email and --name, and for HighLevel
 * --private-key <PKCS#8 PEM file> (in development the simulator's key).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { CRM_EVENT_TYPES } from '../api/crm-events.js';
import { CRM_INTAKE_VARIABLES, DEV_DEFAULTS, DEV_GHL_WEBHOOK_PRIVATE_KEY, loadConfigOrExit } from '../config/index.js';
import { goHighLevelContactCreate, goHighLevelOpportunityWon, signGoHighLevelDelivery } from '../crm/gohighlevel/webhook.js';
import { hubspotContactCreation, hubspotDealStageChange, signHubspotDelivery } from '../crm/hubspot/webhook.js';
import { pipedriveBasicAuth, pipedriveDealWon, pipedrivePersonCreated } from '../crm/pipedrive/webhook.js';
import { CRM_SOURCE_LABELS, CRM_SOURCES, isCrmSource, type CrmSource } from '../crm/types.js';

type EventType = (typeof CRM_EVENT_TYPES)[number];

const usage = [
  'usage: npm run send-webhook -- [--type client.created] --domain <domain> --email <email> [--client-id <id>] [--name <name>] [--cms wordpress|other] [--tier pro] [--services netlify,nextnet]',
  '       npm run send-webhook -- --type client.churned --client-id <id> [--reason <text>]',
  '       npm run send-webhook -- --type client.reactivated --client-id <id>',
  '  every type: [--timestamp <ISO date-time>] [--url http://127.0.0.1:3000] [--json]; --domain stands for --client-id crm-<domain>',
  '       npm run send-webhook -- --source hubspot|pipedrive|gohighlevel [--event created|won] [--account <id>] [--contact-id <id>] [--deal-id <id>]',
  '                                [--email <e>] [--name <n>] [--domain <website>] [--private-key <pem file>] [--url ...] [--json]',
].join('\n');

const options = {
  type: { type: 'string', default: 'client.created' },
  source: { type: 'string', default: 'crm' },
  event: { type: 'string' },
  account: { type: 'string' },
  'contact-id': { type: 'string' },
  'deal-id': { type: 'string' },
  'private-key': { type: 'string' },
  domain: { type: 'string' },
  email: { type: 'string' },
  'client-id': { type: 'string' },
  name: { type: 'string' },
  cms: { type: 'string', default: 'wordpress' },
  tier: { type: 'string', default: 'pro' },
  services: { type: 'string' },
  reason: { type: 'string' },
  timestamp: { type: 'string' },
  url: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

let parsed: ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];
try {
  parsed = parseArgs({ options }).values;
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const args = parsed;
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};

if (!(CRM_EVENT_TYPES as readonly string[]).includes(args.type)) fail(`--type must be one of ${CRM_EVENT_TYPES.join(', ')} (got ${JSON.stringify(args.type)})`);
const type = args.type as EventType;
const timestamp = args.timestamp === undefined ? new Date() : new Date(args.timestamp);
if (Number.isNaN(timestamp.getTime())) fail(`--timestamp must be an ISO 8601 date-time, e.g. 2026-11-22T10:00:00Z (got ${JSON.stringify(args.timestamp)})`);
// The id `client.created` derives from the domain when none is given, so the other types can name the client the same way.
const clientId = args['client-id'] ?? (args.domain ? `crm-${args.domain.replace(/[^a-z0-9]+/gi, '-')}` : undefined);

function dataOf(): Record<string, unknown> {
  switch (type) {
    case 'client.created':
      if (!args.domain || !args.email) return fail('client.created needs --domain and --email');
      return {
        clientId,
        email: args.email,
        name: args.name,
        domain: args.domain,
        cms: args.cms,
        subscriptionTier: args.tier,
        // Absent: the engine's default plan (ONBOARDING_SERVICES).
        services: args.services?.split(',').map((name) => name.trim()).filter(Boolean),
      };
    case 'client.churned':
      if (!clientId) return fail('client.churned needs --client-id (or --domain)');
      return { clientId, reason: args.reason };
    case 'client.reactivated':
      if (!clientId) return fail('client.reactivated needs --client-id (or --domain)');
      return { clientId };
  }
}

const config = loadConfigOrExit();
if (args.source !== 'crm') {
  if (!isCrmSource(args.source)) fail(`--source must be crm or one of ${CRM_SOURCES.join(', ')} (got ${JSON.stringify(args.source)})`);
  process.exit(await sendCrmWebhook(args.source as CrmSource));
}
const url = `${args.url ?? `http://127.0.0.1:${config.port}`}/webhooks/crm`;
const body = JSON.stringify({ type, timestamp: timestamp.toISOString(), data: dataOf() });
const id = `msg_${randomUUID()}`;
const now = new Date();

let response: Response;
try {
  response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(config.webhookSecret).sign(id, now, body),
    },
    body,
  });
} catch (err) {
  console.error(`Could not reach ${url}: ${(err as Error).message}. Is the stack running (npm start)?`);
  process.exit(1);
}
const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
if (args.json) console.log(JSON.stringify({ httpStatus: response.status, ...answer }));
else if (response.ok) {
  const workflow = type === 'client.created' ? `onboarding ${answer.onboardingId}` : `offboarding ${answer.offboardingId}`;
  console.log(`${response.status}: ${type} → ${workflow} ${answer.status}`);
  console.log(`Follow it: npx onboarding show ${answer.workflowId}   or the Temporal UI`);
} else {
  console.error(`${response.status}: ${JSON.stringify(answer)}`);
}
process.exit(response.ok ? 0 : 1);

/** A delivery of a CRM's own webhook, signed as that CRM signs it; the exit code (0 on 2xx). */
async function sendCrmWebhook(source: CrmSource): Promise<number> {
  const label = CRM_SOURCE_LABELS[source];
  const event = args.event ?? (source === 'pipedrive' ? 'won' : 'created');
  if (event !== 'created' && event !== 'won') return fail(`--event must be created or won (got ${JSON.stringify(event)})`);
  const notConfigured = (): never => fail(`The ${label} webhook is not configured: set ${CRM_INTAKE_VARIABLES[source].join(' and ')} (see .env.example)`);
  const randomNumber = () => Math.floor(Math.random() * 1e9) + 1;
  const numberOf = (name: 'account' | 'contact-id' | 'deal-id'): number => {
    const text = args[name];
    if (text === undefined) return randomNumber();
    return /^\d+$/.test(text) ? Number(text) : fail(`--${name} must be a number for ${label} (got ${JSON.stringify(text)})`);
  };
  const url = `${args.url ?? `http://127.0.0.1:${config.port}`}/webhooks/${source}`;
  let body: string;
  let headers: Record<string, string>;
  switch (source) {
    case 'hubspot': {
      const settings = config.crmIntake.hubspot ?? notConfigured();
      const portalId = numberOf('account');
      const delivered = event === 'created' ? hubspotContactCreation({ portalId, contactId: numberOf('contact-id') }) : hubspotDealStageChange({ portalId, dealId: numberOf('deal-id'), stage: settings.wonStages[0] });
      body = JSON.stringify([delivered]);
      // The URL HubSpot would call: the pinned public one when set, else this one.
      headers = signHubspotDelivery({ clientSecret: settings.clientSecret, method: 'POST', url: settings.webhookUrl ?? url, body });
      break;
    }
    case 'pipedrive': {
      const settings = config.crmIntake.pipedrive ?? notConfigured();
      const companyId = numberOf('account');
      const personId = numberOf('contact-id');
      const delivered = event === 'won' ? pipedriveDealWon({ companyId, dealId: numberOf('deal-id'), personId }) : pipedrivePersonCreated({ companyId, personId, name: args.name, email: args.email });
      body = JSON.stringify(delivered);
      headers = { 'content-type': 'application/json', ...pipedriveBasicAuth(settings.user, settings.password) };
      break;
    }
    case 'gohighlevel': {
      const settings = config.crmIntake.gohighlevel ?? notConfigured();
      const privateKey = args['private-key']
        ? readFileSync(args['private-key'], 'utf8')
        : settings.publicKey === DEV_DEFAULTS.GHL_WEBHOOK_PUBLIC_KEY
          ? DEV_GHL_WEBHOOK_PRIVATE_KEY
          : fail("GoHighLevel deliveries are signed with HighLevel's private key: to test this configuration, set GHL_WEBHOOK_PUBLIC_KEY to a key pair of your own and pass its private key with --private-key <PKCS#8 PEM file>");
      const locationId = args.account ?? settings.locationIds?.[0] ?? 'dev-location';
      const contactId = args['contact-id'] ?? `contact-${randomNumber()}`;
      const delivered =
        event === 'created'
          ? goHighLevelContactCreate({ locationId, contactId, email: args.email, companyName: args.name, website: args.domain })
          : goHighLevelOpportunityWon({ locationId, opportunityId: args['deal-id'] ?? `opportunity-${randomNumber()}`, contactId });
      body = JSON.stringify(delivered);
      headers = signGoHighLevelDelivery(privateKey, body);
      break;
    }
  }

  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body });
  } catch (err) {
    console.error(`Could not reach ${url}: ${(err as Error).message}. Is the stack running (npm start)?`);
    return 1;
  }
  const answer = (await response.json().catch(() => ({}))) as { results?: { eventId: string; outcome: string; onboardingId?: string; workflowId?: string; why?: string }[] };
  if (args.json) console.log(JSON.stringify({ httpStatus: response.status, ...answer }));
  else if (response.ok) {
    for (const result of answer.results ?? []) {
      const workflow = result.onboardingId ? `onboarding ${result.onboardingId} ` : result.workflowId ? `deal resolution ${result.workflowId} ` : '';
      console.log(`${response.status}: ${label} ${event === 'created' ? 'contact created' : 'deal won'} (event ${result.eventId}) → ${workflow}${result.outcome}${result.why ? `: ${result.why}` : ''}`);
      if (result.onboardingId) console.log(`Follow it: npx onboarding show ${result.onboardingId}   or the Temporal UI`);
      else if (result.workflowId) console.log(`Follow it: npm run temporal -- workflow describe --workflow-id ${result.workflowId}   or the Temporal UI`);
    }
  } else {
    console.error(`${response.status}: ${JSON.stringify(answer)}`);
  }
  return response.ok ? 0 : 1;
}
