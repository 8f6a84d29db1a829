// Finds the `temporal` CLI (dev server + admin commands), building it with Go when it is missing.
// Plain Node ESM without npm dependencies: it runs before `npm ci` has installed anything.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
// Releases ship their version through ldflags; without it `temporal --version` says 0.0.0-DEV.
const TEMPORAL_CLI_LDFLAGS = `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION.replace(/^v/, '')}`;

export const DEFAULT_REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const LOCK_STALE_AFTER_MS = 20 * 60 * 1000;
const LOCK_HEARTBEAT_MS = 10 * 1000;
const LOCK_POLL_MS = 500;
const PROGRESS_EVERY_MS = 10 * 1000;
const BUILD_OUTPUT_TAIL_LINES = 30;
const STAGING_PREFIX = '.staging-';

const executableName = (name) => (process.platform === 'win32' ? `${name}.exe` : name);

/** Whether the module at `moduleUrl` is the script Node was started with (not imported by another). */
export function isRunAsScript(moduleUrl) {
  try {
    // realpath on both sides: import.meta.url is resolved through symlinks, process.argv[1] is not.
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

export function toolsDir(repoRoot = DEFAULT_REPO_ROOT) {
  return path.join(repoRoot, '.tools');
}

export function isExecutableFile(file) {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findExecutableOnPath(name, envPath = '') {
  for (const dir of envPath.split(path.delimiter)) {
    // An empty PATH entry means "current directory" to a shell; we do not want to pick that up silently.
    if (!dir) continue;
    const candidate = path.resolve(dir, executableName(name));
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** Absolute path of the Temporal CLI to use, or null when none is available yet. */
export function findTemporalCli({ env = process.env, repoRoot = DEFAULT_REPO_ROOT } = {}) {
  const explicitPath = env.TEMPORAL_CLI_PATH;
  if (explicitPath) {
    const resolved = path.resolve(explicitPath);
    if (!isExecutableFile(resolved)) {
      throw new Error(`TEMPORAL_CLI_PATH points to ${resolved}, which is not an executable file. Fix or unset TEMPORAL_CLI_PATH.`);
    }
    return resolved;
  }
  const onPath = findExecutableOnPath('temporal', env.PATH);
  if (onPath) return onPath;
  const built = path.join(toolsDir(repoRoot), executableName('temporal'));
  return isExecutableFile(built) ? built : null;
}

/** The CLI path, building it into <repo>/.tools with `go install` the first time. */
export async function ensureTemporalCli({ env = process.env, repoRoot = DEFAULT_REPO_ROOT, log = console.error, progressStream = process.stderr } = {}) {
  const existing = findTemporalCli({ env, repoRoot });
  if (existing) return existing;

  const go = findExecutableOnPath('go', env.PATH);
  if (!go) {
    throw new Error(
      'The Temporal CLI is not installed and Go is not on PATH to build it. ' +
        'Install Go 1.22 or newer (https://go.dev/dl/), or set TEMPORAL_CLI_PATH to an existing temporal binary.',
    );
  }

  return withDirectoryLock(
    path.join(toolsDir(repoRoot), '.build-lock'),
    {
      onWait: (owner) => log(`Another process${owner ? ` (pid ${owner.pid})` : ''} is building the Temporal CLI; waiting for it…`),
      onStillWaiting: (seconds) => log(`  still waiting for the Temporal CLI build… ${seconds}s`),
    },
    async () => {
      // The process we waited for may have built it already.
      const builtMeanwhile = findTemporalCli({ env, repoRoot });
      if (builtMeanwhile) return builtMeanwhile;
      return buildTemporalCli({ go, env, repoRoot, log, progressStream });
    },
  );
}

async function buildTemporalCli({ go, env, repoRoot, log, progressStream }) {
  const target = path.join(toolsDir(repoRoot), executableName('temporal'));
  // Build into a private folder and rename, so nobody ever runs a half-written binary.
  const stagingBin = path.join(toolsDir(repoRoot), `${STAGING_PREFIX}${process.pid}`);
  removeAbandonedStagingDirs(repoRoot);
  mkdirSync(stagingBin, { recursive: true });

  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go. The first build takes a few minutes; it happens once and is cached in ${toolsDir(repoRoot)}.`);
  const args = ['install', `-ldflags=${TEMPORAL_CLI_LDFLAGS}`, `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`];
  try {
    await runWithProgress(go, args, {
      env: { ...env, GOBIN: stagingBin },
      label: 'Building Temporal CLI',
      log,
      progressStream,
    });
    renameSync(path.join(stagingBin, executableName('temporal')), target);
  } catch (error) {
    throw new Error(
      `Building the Temporal CLI failed: ${error.message}\n` +
        'Fix the Go problem shown above (often: no access to the Go module proxy), or set TEMPORAL_CLI_PATH to an existing temporal binary.',
    );
  } finally {
    rmSync(stagingBin, { recursive: true, force: true });
  }
  log(`Temporal CLI built: ${target}`);
  return target;
}

// We hold the build lock here, so any staging folder left behind belongs to a build that was killed.
function removeAbandonedStagingDirs(repoRoot) {
  for (const entry of readdirSync(toolsDir(repoRoot))) {
    if (entry.startsWith(STAGING_PREFIX)) rmSync(path.join(toolsDir(repoRoot), entry), { recursive: true, force: true });
  }
}

/**
 * Runs a slow command with its output kept back, saying how far it got: one line rewritten in place on a terminal,
 * a line every 10 s in logs (CI, pipes). `status` words that line (default: label, seconds, latest output line);
 * `onLine` sees each output line. On failure the error carries the last lines of output.
 */
export function runWithProgress(command, args, { env, cwd, label, log, progressStream, onLine, status }) {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const outputTail = [];
    let latestLine = '';
    const rememberOutput = (chunk) => {
      for (const line of chunk.toString().split(/\r?\n/)) {
        if (!line.trim()) continue;
        latestLine = line.trim();
        onLine?.(line);
        outputTail.push(line);
        if (outputTail.length > BUILD_OUTPUT_TAIL_LINES) outputTail.shift();
      }
    };

    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    child.stdout.on('data', rememberOutput);
    child.stderr.on('data', rememberOutput);

    const elapsedSeconds = () => Math.round((Date.now() - startedAt) / 1000);
    const isTerminal = Boolean(progressStream?.isTTY);
    const statusLine = () => (status ? status(elapsedSeconds()) : `${label}… ${elapsedSeconds()}s${latestLine ? `  ${latestLine}` : ''}`);
    const ticker = isTerminal
      ? setInterval(() => {
          const width = (progressStream.columns || 80) - 1;
          progressStream.write(`\r\x1b[2K${statusLine().slice(0, width)}`);
        }, 1000)
      : setInterval(() => log(statusLine()), PROGRESS_EVERY_MS);
    const stopProgress = () => {
      clearInterval(ticker);
      if (isTerminal) progressStream.write('\r\x1b[2K');
    };

    child.on('error', (error) => {
      stopProgress();
      reject(new Error(`Could not run ${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      stopProgress();
      if (code === 0) return resolve();
      const outcome = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
      reject(new Error(`${path.basename(command)} ${args.join(' ')} ${outcome} after ${elapsedSeconds()}s. Last output:\n${outputTail.join('\n')}`));
    });
  });
}

// --- Cross-process lock: `mkdir` is atomic, so exactly one process creates the directory. ---

/**
 * Runs `work` while holding the lock directory `lockDir`; other callers wait for it to disappear.
 * A lock is taken over when its owner process is gone (same host) or it has not been refreshed for 20 min.
 */
export async function withDirectoryLock(lockDir, { onWait = () => {}, onStillWaiting = () => {}, staleAfterMs = LOCK_STALE_AFTER_MS } = {}, work) {
  await acquireDirectoryLock(lockDir, { onWait, onStillWaiting, staleAfterMs });
  // Refresh the lock's mtime so a long but healthy holder is never mistaken for a stale one.
  const heartbeat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(lockDir, now, now);
    } catch {
      // The lock was taken over as stale; nothing useful to do here.
    }
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    rmSync(lockDir, { recursive: true, force: true });
  }
}

async function acquireDirectoryLock(lockDir, { onWait, onStillWaiting, staleAfterMs }) {
  mkdirSync(path.dirname(lockDir), { recursive: true });
  const waitStartedAt = Date.now();
  let announcedWait = false;
  let lastReminderAt = waitStartedAt;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname() }));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const owner = readLockOwner(lockDir);
    if (isLockStale(lockDir, owner, staleAfterMs)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announcedWait) {
      announcedWait = true;
      onWait(owner);
    } else if (Date.now() - lastReminderAt >= PROGRESS_EVERY_MS) {
      lastReminderAt = Date.now();
      onStillWaiting(Math.round((Date.now() - waitStartedAt) / 1000));
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

function readLockOwner(lockDir) {
  try {
    return JSON.parse(readFileSync(path.join(lockDir, 'owner.json'), 'utf8'));
  } catch {
    // Owner file not written yet (lock just created) or lock already released.
    return null;
  }
}

function isLockStale(lockDir, owner, staleAfterMs) {
  if (owner && owner.host === hostname() && !isProcessAlive(owner.pid)) return true;
  try {
    return Date.now() - statSync(lockDir).mtimeMs > staleAfterMs;
  } catch {
    // Released between our mkdir and stat: not stale, just try again.
    return false;
  }
}

function isProcessAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return error.code === 'EPERM';
  }
}
