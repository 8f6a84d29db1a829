import { PostgresSentEmailLedger } from '../activities/postgres-sent-email-ledger.js';
import { loadConfigOrExit } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { openDatabase } from '../database/index.js';
import { importFileStateAtStart } from '../database/import-files.js';
import { openVault, resolveVaultKey } from '../vault/index.js';
import { startConfiguredDnsSweep } from './dns-sweep.js';
import { configureTemporalRuntime, connectWorker, createOnboardingWorker } from './index.js';

// The worker drains on SIGINT/SIGTERM by itself (shutdownGraceTime), so run() returning is the clean exit.
const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'worker' });
configureTemporalRuntime({ logger, metricsAddress: config.workerMetricsAddress });
// With DATABASE_URL the vault and the sent-email ledger are in PostgreSQL, shared by every worker and API; without it
// (development outside `npm start`) they are files under DATA_DIR.
const database = config.databaseUrl ? openDatabase(config.databaseUrl, logger, { applicationName: 'onboarding-worker' }) : undefined;
try {
  // Safe when many workers and APIs start at once: one migrates, the others wait and find nothing left to do.
  await database?.migrate();
  // A vault and ledger left in files by an earlier version move into PostgreSQL, once (the log says what moved).
  if (database) await importFileStateAtStart({ dataDir: config.dataDir, vaultKey: async () => (await resolveVaultKey(config)).key, database, logger });
  const { vault } = await openVault(config, logger, database);
  const connection = await connectWorker(config);
  const workers = await createOnboardingWorker({
    config,
    logger,
    vault,
    ...(database ? { sentEmails: new PostgresSentEmailLedger(database) } : {}),
    connection,
    workflowBundlePath: config.temporal.workflowBundlePath,
  });
  // Wakes onboardings whose domain NextNet now reads verified (DNS_SWEEP_INTERVAL; off: each waits for its own poll).
  const sweep = await startConfiguredDnsSweep(config, logger);
  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      temporal: config.temporal.address,
      state: database ? 'postgresql' : 'files',
      metrics: `http://${config.workerMetricsAddress}/metrics`,
      dnsSweepIntervalMs: sweep ? config.dnsSweepIntervalMs : null,
    },
    'worker started',
  );
  try {
    await workers.run();
  } finally {
    await sweep?.stop();
    workers.close();
    await connection.close();
  }
} finally {
  await database?.close();
}
