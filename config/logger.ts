import { pino, type Logger, type DestinationStream } from 'pino';

/** Every path where a secret can appear in a log object; pino replaces its value with [REDACTED]. */
export const REDACTED_PATHS = [
  'apiKey',
  'api_key',
  'token',
  'secret',
  'password',
  'value',
  'wordpressApiKey',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.secret',
  '*.password',
  '*.value',
  '*.wordpressApiKey',
  'wordpress.api_key',
  '*.wordpress.api_key',
  // Netlify: the reseller token and the access tokens minted for client users.
  'access_token',
  '*.access_token',
  'accessToken',
  '*.accessToken',
  'resellerToken',
  '*.resellerToken',
  'headers.authorization',
  'headers["x-serendipity-api-key"]',
  'headers["webhook-signature"]',
  // The CRMs' own webhooks: HubSpot's and HighLevel's signatures (Pipedrive's Basic auth is the authorization header).
  'headers["x-hubspot-signature-v3"]',
  'headers["x-hubspot-signature"]',
  'headers["x-ghl-signature"]',
  'req.headers["x-hubspot-signature-v3"]',
  'req.headers["x-hubspot-signature"]',
  'req.headers["x-ghl-signature"]',
  'req.headers.authorization',
  'req.headers["x-serendipity-api-key"]',
  'req.headers["x-api-token"]',
  'req.headers["webhook-signature"]',
  'req.headers.cookie',
  'config.reseller.apiKey',
  'config.netlify.resellerToken',
  'config.crmApis.hubspot.accessToken',
  'config.crmApis.pipedrive.apiToken',
  'config.crmApis.gohighlevel.apiToken',
  'config.webhookSecret',
  'config.crmIntake.hubspot.clientSecret',
  'config.crmIntake.pipedrive.password',
  'config.opsApiToken',
  'config.vaultKey',
  'config.payloadKeys',
  'config.temporal.apiKey',
  // An SMTP URL usually carries the mail server's password.
  'config.email.smtpUrl',
  // The database URL carries the PostgreSQL password.
  'config.databaseUrl',
];

export function createLogger(options: { level?: string; name?: string } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      base: { pid: process.pid },
    },
    destination,
  );
}
