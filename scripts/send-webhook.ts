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
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { CRM_EVENT_TYPES } from '../api/crm-events.js';
import { loadConfigOrExit } from '../config/index.js';

type EventType = (typeof CRM_EVENT_TYPES)[number];

const usage = [
  'usage: npm run send-webhook -- [--type client.created] --domain <domain> --email <email> [--client-id <id>] [--name <name>] [--cms wordpress|other] [--tier pro] [--services netlify,nextnet]',
  '       npm run send-webhook -- --type client.churned --client-id <id> [--reason <text>]',
  '       npm run send-webhook -- --type client.reactivated --client-id <id>',
  '  every type: [--timestamp <ISO date-time>] [--url http://127.0.0.1:3000] [--json]; --domain stands for --client-id crm-<domain>',
].join('\n');

const options = {
  type: { type: 'string', default: 'client.created' },
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
