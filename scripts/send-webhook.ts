/**
 * `npm run send-webhook -- --domain acme.com --email owner@acme.com [--client-id crm-1] [--name "Acme"] [--cms wordpress] [--services netlify,nextnet] [--json]`
 * Sends a `client.created` delivery to the running API, signed with CRM_WEBHOOK_SECRET as a CRM would.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { loadConfigOrExit } from '../config/index.js';

const usage = 'usage: npm run send-webhook -- --domain <domain> --email <email> [--client-id <id>] [--name <name>] [--cms wordpress|other] [--tier pro] [--services netlify,nextnet] [--url http://127.0.0.1:3000] [--json]';
let args;
try {
  args = parseArgs({
    options: {
      domain: { type: 'string' },
      email: { type: 'string' },
      'client-id': { type: 'string' },
      name: { type: 'string' },
      cms: { type: 'string', default: 'wordpress' },
      tier: { type: 'string', default: 'pro' },
      services: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
if (!args.domain || !args.email) {
  console.error(`--domain and --email are required\n${usage}`);
  process.exit(2);
}

const config = loadConfigOrExit();
const url = `${args.url ?? `http://127.0.0.1:${config.port}`}/webhooks/crm`;
const body = JSON.stringify({
  type: 'client.created',
  timestamp: new Date().toISOString(),
  data: {
    clientId: args['client-id'] ?? `crm-${args.domain.replace(/[^a-z0-9]+/gi, '-')}`,
    email: args.email,
    name: args.name,
    domain: args.domain,
    cms: args.cms,
    subscriptionTier: args.tier,
    // Absent: the engine's default plan (ONBOARDING_SERVICES).
    services: args.services?.split(',').map((name) => name.trim()).filter(Boolean),
  },
});
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
  console.log(`${response.status}: onboarding ${answer.onboardingId} ${answer.status}`);
  console.log(`Follow it: npm run temporal -- workflow describe -w ${answer.workflowId}   or the Temporal UI`);
} else {
  console.error(`${response.status}: ${JSON.stringify(answer)}`);
}
process.exit(response.ok ? 0 : 1);
