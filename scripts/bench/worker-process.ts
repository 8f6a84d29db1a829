/**
 * A worker of the benchmark, in a process of its own (so its RSS and CPU are its own), configured like worker/main.ts
 * from the environment (loadConfig). BENCH_WORKER=real runs the production worker (createOnboardingWorker, the vault
 * and sent-email ledger in PostgreSQL, and the DNS sweep when DNS_SWEEP_INTERVAL is set); BENCH_WORKER=bare runs
 * the baseline workflow and no-op activities with the same worker options and data converter.
 */
import { Worker } from '@temporalio/worker';
import { createBareActivities } from './bare-activities.js';
import { ownUsage, serveRpc } from './harness.js';
import { PostgresSentEmailLedger } from '../../activities/postgres-sent-email-ledger.js';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../config/logger.js';
import { payloadDataConverter } from '../../config/payload-codec.js';
import { openDatabase } from '../../database/index.js';
import { openVault } from '../../vault/index.js';
import { startConfiguredDnsSweep } from '../../worker/dns-sweep.js';
import { configureTemporalRuntime, connectWorker, createOnboardingWorker, workerTuningOptions } from '../../worker/index.js';

const mode = process.env.BENCH_WORKER;
try {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: `bench-worker-${mode}` });
  // As worker/main.ts does.
  configureTemporalRuntime({ logger, metricsAddress: config.workerMetricsAddress });
  const connection = await connectWorker(config);
  let run: Promise<void>;
  let shutdown: () => void;
  let close: () => Promise<void>;
  let sweep: Awaited<ReturnType<typeof startConfiguredDnsSweep>>;

  if (mode === 'real') {
    const database = openDatabase(config.databaseUrl!, logger, { applicationName: 'bench-worker' });
    await database.migrate();
    const { vault } = await openVault(config, logger, database);
    const workers = await createOnboardingWorker({ config, logger, vault, sentEmails: new PostgresSentEmailLedger(database), connection, workflowBundlePath: config.temporal.workflowBundlePath });
    run = workers.run();
    shutdown = () => workers.shutdown();
    sweep = await startConfiguredDnsSweep(config, logger);
    close = async () => {
      await sweep?.stop();
      workers.close();
      await database.close();
    };
  } else if (mode === 'bare') {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowBundle: { codePath: process.env.BENCH_BARE_BUNDLE! },
      activities: createBareActivities(),
      dataConverter: payloadDataConverter(config),
      ...workerTuningOptions(config.worker),
      shutdownGraceTime: '10 seconds',
    });
    run = worker.run();
    shutdown = () => worker.shutdown();
    close = async () => undefined;
  } else {
    throw new Error(`BENCH_WORKER must be real or bare, not ${mode}`);
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    shutdown();
    await run.catch(() => undefined);
    await close();
    await connection.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  run.catch((err: unknown) => {
    console.error(`bench worker (${mode}) stopped: ${(err as Error).message}`);
    process.exit(1);
  });
  serveRpc(
    {
      usage: () => ownUsage(),
      sweepOnce: async () => (sweep ? sweep.sweepOnce() : null),
    },
    { mode, pid: process.pid, tuning: workerTuningOptions(config.worker), dnsSweepIntervalMs: mode === 'real' ? config.dnsSweepIntervalMs : null },
  );
} catch (err) {
  process.send?.({ type: 'failed', error: (err as Error).stack ?? String(err) });
  process.exit(1);
}
