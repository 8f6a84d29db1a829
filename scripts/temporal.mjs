// `npm run temporal -- <args>`: the Temporal CLI of this repo, pointed at the local dev server by default.
// Example: npm run temporal -- workflow list
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { ensureTemporalCli } from './temporal-cli.mjs';

const LOCAL_DEV_SERVER = { TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_NAMESPACE: 'default' };

let temporalCli;
try {
  temporalCli = await ensureTemporalCli();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

// The CLI reads both variables itself; empty counts as unset, like in our config.
const env = {
  ...process.env,
  TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS || LOCAL_DEV_SERVER.TEMPORAL_ADDRESS,
  TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE || LOCAL_DEV_SERVER.TEMPORAL_NAMESPACE,
};

const cli = spawn(temporalCli, process.argv.slice(2), { env, stdio: 'inherit' });

// Ctrl-C already reaches the CLI through the terminal; we stay alive so the shell waits for its shutdown.
process.on('SIGINT', () => {});
// SIGTERM/SIGHUP are usually sent to us alone (process managers, closed terminal), so pass them on.
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => cli.kill(signal));
}

cli.on('error', (error) => {
  console.error(`Could not run ${temporalCli}: ${error.message}`);
  process.exit(1);
});
cli.on('exit', (code, signal) => {
  process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
});
