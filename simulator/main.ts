import { isIPv4 } from 'node:net';
import { pino } from 'pino';
import { z } from 'zod';
import { DEFAULT_NETLIFY_LOAD_BALANCER_IP, DEV_NETLIFY_RESELLER_TOKEN, DEV_RESELLER_API_KEY, startSimulator } from './app.js';

const port = z
  .string()
  .regex(/^\d+$/, { error: 'must be a port number (0-65535)' })
  .transform(Number)
  .pipe(z.number().max(65535, { error: 'must be a port number (0-65535)' }));

const SimulatorEnv = z.object({
  SIM_PORT: port.default(4010),
  SIM_HOST: z.string().default('127.0.0.1'),
  RESELLER_API_KEY: z.string().optional(),
  NETLIFY_RESELLER_TOKEN: z.string().optional(),
  NETLIFY_LOAD_BALANCER_IP: z
    .string()
    .refine((value) => isIPv4(value), { error: 'must be an IPv4 address' })
    .default(DEFAULT_NETLIFY_LOAD_BALANCER_IP),
  SIM_DNS_PORT: z
    .string()
    .regex(/^(off|\d+)$/, { error: 'must be a port number (0-65535) or "off"' })
    .transform((value) => (value === 'off' ? null : Number(value)))
    .pipe(z.number().max(65535, { error: 'must be a port number (0-65535) or "off"' }).nullable())
    .default(4053),
  SIM_DNS_VERIFY_AFTER_MS: z
    .string()
    .regex(/^(never|\d+)$/, { error: 'must be a whole number of milliseconds or "never"' })
    .transform((value) => (value === 'never' ? null : Number(value)))
    .default(30_000),
  SIM_STATE_FILE: z.string().optional(),
  // The CRMs (simulator/crm/): the tokens their APIs accept, their webhooks' credentials, and where webhooks go.
  SIM_CRM_WEBHOOK_URL: z.url({ error: 'must be a URL, e.g. http://127.0.0.1:3000/webhooks' }).optional(),
  HUBSPOT_ACCESS_TOKEN: z.string().optional(),
  HUBSPOT_CLIENT_SECRET: z.string().optional(),
  PIPEDRIVE_API_TOKEN: z.string().optional(),
  PIPEDRIVE_WEBHOOK_USER: z.string().optional(),
  PIPEDRIVE_WEBHOOK_PASSWORD: z.string().optional(),
  GHL_API_TOKEN: z.string().optional(),
});

/** Empty strings count as unset, so `SIM_STATE_FILE=` in a .env file means "no state file". */
function readEnv(env: NodeJS.ProcessEnv): z.output<typeof SimulatorEnv> {
  const setValues = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = SimulatorEnv.safeParse(setValues);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    console.error(`simulator: invalid environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  process.exit(1);
}

const env = readEnv(process.env);
const logger = pino({
  name: 'reseller-simulator',
  // We never log headers or bodies; this catches a future change that would.
  redact: [
    'req.headers["x-serendipity-api-key"]',
    'req.headers.authorization',
    'req.headers["x-api-token"]',
    '*.api_key',
    '*.wordpressApiKey',
    '*.apiKey',
    '*.access_token',
    '*.accessTokens',
    '*.token',
  ],
});

const simulator = await startSimulator({
  port: env.SIM_PORT,
  host: env.SIM_HOST,
  apiKeys: [env.RESELLER_API_KEY ?? DEV_RESELLER_API_KEY],
  netlifyResellerTokens: [env.NETLIFY_RESELLER_TOKEN ?? DEV_NETLIFY_RESELLER_TOKEN],
  netlify: { loadBalancerIp: env.NETLIFY_LOAD_BALANCER_IP },
  dnsVerifyAfterMs: env.SIM_DNS_VERIFY_AFTER_MS,
  stateFile: env.SIM_STATE_FILE,
  crm: {
    webhookUrl: env.SIM_CRM_WEBHOOK_URL,
    hubspot: { ...(env.HUBSPOT_ACCESS_TOKEN && { accessTokens: [env.HUBSPOT_ACCESS_TOKEN] }), clientSecret: env.HUBSPOT_CLIENT_SECRET },
    pipedrive: { ...(env.PIPEDRIVE_API_TOKEN && { apiTokens: [env.PIPEDRIVE_API_TOKEN] }), webhookUser: env.PIPEDRIVE_WEBHOOK_USER, webhookPassword: env.PIPEDRIVE_WEBHOOK_PASSWORD },
    gohighlevel: { ...(env.GHL_API_TOKEN && { apiTokens: [env.GHL_API_TOKEN] }) },
  },
  ...(env.SIM_DNS_PORT !== null && { dns: { port: env.SIM_DNS_PORT } }),
  logger,
});

logger.info(
  {
    url: simulator.url,
    nextnetBaseUrl: simulator.baseUrl,
    netlifyBaseUrl: simulator.netlifyBaseUrl,
    crmBaseUrls: simulator.crmBaseUrls,
    crmWebhookUrl: env.SIM_CRM_WEBHOOK_URL ?? null,
    gohighlevelWebhookPublicKey: simulator.knobs.crm.gohighlevel.webhookPublicKey(),
    dns: simulator.dns?.address ?? null,
    acceptedKey: env.RESELLER_API_KEY ? 'RESELLER_API_KEY' : 'DEV_RESELLER_API_KEY',
    acceptedNetlifyToken: env.NETLIFY_RESELLER_TOKEN ? 'NETLIFY_RESELLER_TOKEN' : 'DEV_NETLIFY_RESELLER_TOKEN',
    dnsVerifyAfterMs: env.SIM_DNS_VERIFY_AFTER_MS,
    stateFile: env.SIM_STATE_FILE ?? null,
  },
  `NextNet, Netlify, HubSpot, Pipedrive and GoHighLevel API simulator listening on ${simulator.url}` +
    (simulator.dns ? `, DNS on ${simulator.dns.address}` : ''),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'simulator shutting down');
    simulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'simulator did not close cleanly');
        process.exit(1);
      },
    );
  });
}
