import { pino } from 'pino';
import { z } from 'zod';
import { DEV_RESELLER_API_KEY, startSimulator } from './app.js';

const SimulatorEnv = z.object({
  SIM_PORT: z
    .string()
    .regex(/^\d+$/, { error: 'must be a port number (0-65535)' })
    .transform(Number)
    .pipe(z.number().max(65535, { error: 'must be a port number (0-65535)' }))
    .default(4010),
  SIM_HOST: z.string().default('127.0.0.1'),
  RESELLER_API_KEY: z.string().optional(),
  SIM_DNS_VERIFY_AFTER_MS: z
    .string()
    .regex(/^(never|\d+)$/, { error: 'must be a whole number of milliseconds or "never"' })
    .transform((value) => (value === 'never' ? null : Number(value)))
    .default(30_000),
  SIM_STATE_FILE: z.string().optional(),
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
  name: 'nextnet-simulator',
  // We never log headers or bodies; this catches a future change that would.
  redact: ['req.headers["x-serendipity-api-key"]', '*.api_key', '*.wordpressApiKey', '*.apiKey'],
});

const simulator = await startSimulator({
  port: env.SIM_PORT,
  host: env.SIM_HOST,
  apiKeys: [env.RESELLER_API_KEY ?? DEV_RESELLER_API_KEY],
  dnsVerifyAfterMs: env.SIM_DNS_VERIFY_AFTER_MS,
  stateFile: env.SIM_STATE_FILE,
  logger,
});

logger.info(
  {
    url: simulator.url,
    baseUrl: simulator.baseUrl,
    acceptedKey: env.RESELLER_API_KEY ? 'RESELLER_API_KEY' : 'DEV_RESELLER_API_KEY',
    dnsVerifyAfterMs: env.SIM_DNS_VERIFY_AFTER_MS,
    stateFile: env.SIM_STATE_FILE ?? null,
  },
  `NextNet reseller API simulator listening on ${simulator.url}`,
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
