import { loadConfigOrExit } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { openVault } from '../vault/index.js';
import { startApiServer } from './server.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'api' });
const { vault } = await openVault(config, logger);
const api = await startApiServer({ config, logger, vault });
logger.info({ url: api.url, temporal: config.temporal.address }, 'API listening');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'API shutting down');
    void api.close().then(() => process.exit(0));
  });
}
