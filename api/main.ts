import { loadConfigOrExit } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { openDatabase } from '../database/index.js';
import { importFileStateAtStart } from '../database/import-files.js';
import { openVault, resolveVaultKey } from '../vault/index.js';
import { startApiServer } from './server.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'api' });
// With DATABASE_URL the vault is in PostgreSQL, shared by every worker and API; without it (development outside
// `npm start`) it is files under DATA_DIR.
const database = config.databaseUrl ? openDatabase(config.databaseUrl, logger, { applicationName: 'onboarding-api' }) : undefined;
try {
  // Safe when many workers and APIs start at once: one migrates, the others wait and find nothing left to do.
  await database?.migrate();
  // A vault and ledger left in files by an earlier version move into PostgreSQL, once (the log says what moved).
  if (database) await importFileStateAtStart({ dataDir: config.dataDir, vaultKey: async () => (await resolveVaultKey(config)).key, database, logger });
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
