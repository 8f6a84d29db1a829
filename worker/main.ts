import { loadConfigOrExit } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { openVault } from '../vault/index.js';
import { configureTemporalRuntime, connectWorker, createOnboardingWorker } from './index.js';

// The worker drains on SIGINT/SIGTERM by itself (shutdownGraceTime), so run() returning is the clean exit.
const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'worker' });
configureTemporalRuntime({ logger, metricsAddress: config.workerMetricsAddress });
const { vault } = await openVault(config, logger);
const connection = await connectWorker(config);
const workers = await createOnboardingWorker({
  config,
  logger,
  vault,
  connection,
  workflowBundlePath: config.temporal.workflowBundlePath,
});
logger.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address, metrics: `http://${config.workerMetricsAddress}/metrics` }, 'worker started');
try {
  await workers.run();
} finally {
  workers.close();
  await connection.close();
}
