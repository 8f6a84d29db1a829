// Makes a fresh checkout runnable: right Node, npm dependencies matching the lock file, and a Temporal CLI.
// Runs before `npm start`, `npm test` and `npm run temporal`, so it must be fast and silent (--quiet) when nothing changed.
// Usage: node scripts/setup.mjs [--quiet]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REPO_ROOT, ensureTemporalCli, toolsDir, withDirectoryLock } from './temporal-cli.mjs';

export const MINIMUM_NODE_MAJOR = 20;
const STAMP_FILE = path.join('node_modules', '.setup-stamp');
const INSTALL_INPUTS = ['package.json', 'package-lock.json'];

/** Throws with the next step when this Node is too old for the project. */
export function checkNodeVersion(version = process.versions.node) {
  const major = Number(version.split('.')[0]);
  if (!(major >= MINIMUM_NODE_MAJOR)) {
    throw new Error(`Node ${MINIMUM_NODE_MAJOR} or newer is required, this is Node ${version}. Install Node ${MINIMUM_NODE_MAJOR}+ (e.g. \`nvm install ${MINIMUM_NODE_MAJOR}\`) and run again.`);
  }
}

/** sha256 over the files that decide what `npm ci` installs; a missing file hashes as empty. */
export function dependencyFingerprint(repoRoot = DEFAULT_REPO_ROOT) {
  const hash = createHash('sha256');
  for (const file of INSTALL_INPUTS) {
    const fullPath = path.join(repoRoot, file);
    // The name goes in too, so moving bytes from one file to the other still changes the hash.
    hash.update(`${file}\0`);
    if (existsSync(fullPath)) hash.update(readFileSync(fullPath));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Why node_modules must be (re)installed, or null when it matches package.json and the lock file. */
export function dependencyInstallReason({ hasNodeModules, stamp, fingerprint }) {
  if (!hasNodeModules) return 'node_modules is missing';
  if (stamp === null) return 'not installed by setup yet';
  if (stamp !== fingerprint) return 'package.json or package-lock.json changed';
  return null;
}

function readInstallState(repoRoot) {
  const stampPath = path.join(repoRoot, STAMP_FILE);
  return {
    hasNodeModules: existsSync(path.join(repoRoot, 'node_modules')),
    stamp: existsSync(stampPath) ? readFileSync(stampPath, 'utf8').trim() : null,
    fingerprint: dependencyFingerprint(repoRoot),
  };
}

/** Runs `npm ci` (or `npm install` without a lock file) when node_modules is missing or stale. Returns whether it installed. */
export async function ensureDependencies({ repoRoot = DEFAULT_REPO_ROOT, log = console.error } = {}) {
  if (!dependencyInstallReason(readInstallState(repoRoot))) return false;

  // `npm start` and `npm test` started together must not run two `npm ci` into the same node_modules.
  return withDirectoryLock(
    path.join(toolsDir(repoRoot), '.npm-install-lock'),
    { onWait: () => log('Another process is installing npm dependencies; waiting for it…') },
    async () => {
      const state = readInstallState(repoRoot);
      const reason = dependencyInstallReason(state);
      if (!reason) return false;

      const npmCommand = existsSync(path.join(repoRoot, 'package-lock.json')) ? 'ci' : 'install';
      log(`Installing npm dependencies (${reason})…`);
      const failure = await runNpm([npmCommand], repoRoot);
      if (failure) {
        throw new Error(`npm ${npmCommand} failed (${failure}). Fix the npm error above, then run \`node scripts/setup.mjs\` again.`);
      }
      // Written last: `npm ci` deletes node_modules, and a stamp must only exist for a complete install.
      writeFileSync(path.join(repoRoot, STAMP_FILE), `${state.fingerprint}\n`);
      return true;
    },
  );
}

/** Resolves to null on success, or how npm failed. */
function runNpm(args, cwd) {
  const isWindows = process.platform === 'win32';
  return new Promise((resolve, reject) => {
    // npm's output goes to our stderr, so stdout of `npm run temporal -- ... --output json` stays parseable.
    const child = spawn(isWindows ? 'npm.cmd' : 'npm', args, { cwd, stdio: ['inherit', process.stderr, process.stderr], shell: isWindows });
    child.on('error', (error) => reject(new Error(`Could not run npm: ${error.message}. Check that npm is on PATH.`)));
    child.on('close', (code, signal) => {
      if (signal) resolve(`stopped by ${signal}`);
      else resolve(code === 0 ? null : `exit code ${code}`);
    });
  });
}

export async function main(argv = process.argv.slice(2)) {
  const quiet = argv.includes('--quiet');
  try {
    checkNodeVersion();
    await ensureDependencies();
    const temporalCli = await ensureTemporalCli();
    if (!quiet) console.log(`Temporal CLI: ${temporalCli}`);
    return 0;
  } catch (error) {
    console.error(`setup failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function isRunDirectly() {
  try {
    // realpath on both sides: import.meta.url is resolved through symlinks, process.argv[1] is not.
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isRunDirectly()) {
  process.exitCode = await main();
}
