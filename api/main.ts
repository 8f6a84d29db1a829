import { loadConfigOrExit } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { openDatabase } from '../database/index.js';
import { openVault } from '../vault/index.js';
import { startApiServer } from './server.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'api' });
// With DATABASE_URL the vault is in PostgreSQL, shared by every worker and API; without it (development outside
// `npm start`) it is files under DATA_DIR.
const database = config.databaseUrl ? openDatabase(config.databaseUrl, logger, { applicationName: 'onboarding-api' }) : undefined;
try {
  // Safe when many workers and APIs start at once: one migrates, the others wait and find nothing left to do.
  await database?.migrate();
} catch (err) {
  await database?.close();
  throw err;
}
const { vault } = await openVault(config, logger, database);
const api = await startApiServer({ config, logger, vault });
logger.info({ url: api.url, temporal: config.temporal.address, state: database ? 'postgresql' : 'files' }, 'API listening');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'API shutting down');
    void api
      .close()
      .then(() => database?.close())
      .then(() => process.exit(0));
  });
}
