// Makes a fresh checkout runnable: right Node, npm dependencies matching the lock file, and a Temporal CLI;
// with --with-browser (npm test) also the Chromium that the browser test drives.
// Runs before `npm start`, `npm test` and `npm run temporal`, so it must be fast and silent (--quiet) when nothing changed.
// Usage: node scripts/setup.mjs [--quiet] [--with-browser]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REPO_ROOT, ensureTemporalCli, findExecutableOnPath, isExecutableFile, toolsDir, withDirectoryLock } from './temporal-cli.mjs';

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
  return runWithOutputOnStderr(isWindows ? 'npm.cmd' : 'npm', args, { cwd, shell: isWindows });
}

/** Resolves to null on success, or how the command failed. */
function runWithOutputOnStderr(command, args, { cwd, env = process.env, shell = false }) {
  return new Promise((resolve, reject) => {
    // The command's output goes to our stderr, so stdout of `npm run temporal -- ... --output json` stays parseable.
    const child = spawn(command, args, { cwd, env, stdio: ['inherit', process.stderr, process.stderr], shell });
    child.on('error', (error) => reject(new Error(`Could not run ${command}: ${error.message}. Check that it is on PATH.`)));
    child.on('close', (code, signal) => {
      if (signal) resolve(`stopped by ${signal}`);
      else resolve(code === 0 ? null : `exit code ${code}`);
    });
  });
}

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';


/** The Chromium the browser test drives: CHROMIUM_PATH, else Debian's; null when neither is installed. */
export function findChromium({ env = process.env, debianChromium = DEBIAN_CHROMIUM } = {}) {
  if (env.CHROMIUM_PATH) {
    const resolved = path.resolve(env.CHROMIUM_PATH);
    if (!isExecutableFile(resolved)) {
      throw new Error(`CHROMIUM_PATH points to ${resolved}, which is not an executable file. Fix or unset CHROMIUM_PATH.`);
    }
    return resolved;
  }
  return isExecutableFile(debianChromium) ? debianChromium : null;
}

function isDebian() {
  try {
    // Only Debian: Ubuntu's `chromium` package is a snap wrapper that does not work in containers or CI.
    return /^ID=("?)debian\1$/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The Chromium path, installing Debian's `chromium` package with apt-get the first time when we are root on Debian.
 * Anywhere else it throws with what to install, because only the browser test needs it.
 */
export async function ensureChromium({
  env = process.env,
  repoRoot = DEFAULT_REPO_ROOT,
  log = console.error,
  debianChromium = DEBIAN_CHROMIUM,
  isRoot = process.getuid?.() === 0,
  onDebian = isDebian(),
} = {}) {
  const existing = findChromium({ env, debianChromium });
  if (existing) return existing;

  const aptGet = onDebian ? findExecutableOnPath('apt-get', env.PATH) : null;
  if (!aptGet || !isRoot) {
    const install = aptGet
      ? 'Install it once with `sudo apt-get install -y --no-install-recommends chromium`'
      : 'Install Chromium or Google Chrome';
    throw new Error(`The browser test needs Chromium and ${debianChromium} is missing. ${install}, or set CHROMIUM_PATH to a Chromium or Chrome executable.`);
  }

  // `npm test` in two terminals must not run two apt-get installs at once (dpkg's own lock would fail one of them).
  return withDirectoryLock(
    path.join(toolsDir(repoRoot), '.chromium-install-lock'),
    { onWait: () => log('Another process is installing Chromium; waiting for it…') },
    async () => {
      const installedMeanwhile = findChromium({ env, debianChromium });
      if (installedMeanwhile) return installedMeanwhile;

      log("Installing Debian's Chromium for the browser test with apt-get. This happens once; later runs reuse it.");
      const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
      for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
        const failure = await runWithOutputOnStderr(aptGet, args, { cwd: repoRoot, env: aptEnv });
        if (failure) {
          throw new Error(`apt-get ${args.join(' ')} failed (${failure}). Fix the apt error above, or set CHROMIUM_PATH to a Chromium or Chrome executable.`);
        }
      }
      if (!isExecutableFile(debianChromium)) throw new Error(`apt-get installed chromium, but ${debianChromium} is not there. Set CHROMIUM_PATH to its executable.`);
      log(`Chromium installed: ${debianChromium}`);
      return debianChromium;
    },
  );
}

export async function main(argv = process.argv.slice(2)) {
  const quiet = argv.includes('--quiet');
  try {
    checkNodeVersion();
    await ensureDependencies();
    const temporalCli = await ensureTemporalCli();
    if (!quiet) console.log(`Temporal CLI: ${temporalCli}`);
    // Only the browser test needs Chromium, so only `npm test` asks for it.
    if (argv.includes('--with-browser')) {
      const chromium = await ensureChromium();
      if (!quiet) console.log(`Chromium: ${chromium}`);
    }
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
