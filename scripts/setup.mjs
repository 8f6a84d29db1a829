// Makes a fresh checkout runnable: a new enough Node for itself, the Node 24 that runs the project (scripts/node24.mjs),
// npm dependencies matching the lock file, and a Temporal CLI;
// with --with-browser (npm test) also the Chromium that the browser test drives, and with --with-time-skipping (npm test)
// Temporal's time-skipping test server (Java, fetched with Maven).
// Runs before `npm start`, `npm test` and `npm run temporal`, so it must be fast and silent (--quiet) when nothing changed.
// Usage: node scripts/setup.mjs [--quiet] [--with-browser] [--with-time-skipping]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_REPO_ROOT, ensureTemporalCli, findExecutableOnPath, isExecutableFile, isRunAsScript, runWithProgress, toolsDir, withDirectoryLock } from './temporal-cli.mjs';
import { ensureNode24, envWithNodeFirst } from './node24.mjs';

// For the tests, which import the set-up's helpers from here.
export { NODE24_MAJOR, NODE24_PACKAGES, ensureNode24, envWithNodeFirst, findNode24, node24InstallDir, node24Package, nodeVersionOf } from './node24.mjs';

// Only for the set-up itself and npm: the project's code runs on Node 24 (scripts/node24.mjs).
export const MINIMUM_NODE_MAJOR = 20;
const STAMP_FILE = path.join('node_modules', '.setup-stamp');
const INSTALL_INPUTS = ['package.json', 'package-lock.json'];

/** Throws with the next step when this Node is too old to run the set-up. */
export function checkNodeVersion(version = process.versions.node) {
  const major = Number(version.split('.')[0]);
  if (!(major >= MINIMUM_NODE_MAJOR)) {
    throw new Error(`The set-up needs Node ${MINIMUM_NODE_MAJOR} or newer, this is Node ${version}. Install Node 24 (e.g. \`nvm install 24\`), which runs the project too, and run again.`);
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

/**
 * Runs `npm ci` (or `npm install` without a lock file) when node_modules is missing or stale. Returns whether it installed.
 * `env` is npm's environment: main() puts Node 24 first on its PATH, so npm and the install scripts run on it.
 */
export async function ensureDependencies({ repoRoot = DEFAULT_REPO_ROOT, log = console.error, env = process.env } = {}) {
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
      const failure = await runNpm([npmCommand], repoRoot, env);
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
function runNpm(args, cwd, env) {
  const isWindows = process.platform === 'win32';
  return runWithOutputOnStderr(isWindows ? 'npm.cmd' : 'npm', args, { cwd, env, shell: isWindows });
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

// --- Temporal's time-skipping test server (Java), for the tests that let days pass in seconds ----------------

export const TEMPORAL_TEST_SERVER_VERSION = '1.31.0';
export const TEMPORAL_TEST_SERVER_ARTIFACT = `io.temporal:temporal-test-server:${TEMPORAL_TEST_SERVER_VERSION}`;
// The server logs through SLF4J; without a provider it would print a warning at every start and hide its own errors.
const SLF4J_VERSION = '2.0.17';
const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const TEST_SERVER_MAIN_CLASS = 'io.temporal.testserver.TestServer';
const TEST_SERVER_LAUNCHER = 'temporal-test-server';
const TEST_SERVER_STAGING_PREFIX = '.test-server-staging-';

/** Where the server's jars live: `.tools/temporal-test-server-<version>/lib`. */
export function timeSkippingTestServerDir(repoRoot = DEFAULT_REPO_ROOT) {
  return path.join(toolsDir(repoRoot), `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}`);
}

/** The first line after the shebang of the launcher; it names the version, so a version bump fetches anew. */
const launcherStamp = () => `# Temporal time-skipping test server ${TEMPORAL_TEST_SERVER_VERSION} (written by scripts/setup.mjs)`;

/**
 * The executable the Temporal SDK runs as a time-skipping test server (`TestWorkflowEnvironment.createTimeSkipping`
 * with an `existing-path` executable): TEMPORAL_TEST_SERVER_PATH, else the launcher in `.tools`; null when neither.
 */
export function findTimeSkippingTestServer({ env = process.env, repoRoot = DEFAULT_REPO_ROOT } = {}) {
  if (env.TEMPORAL_TEST_SERVER_PATH) {
    const resolved = path.resolve(env.TEMPORAL_TEST_SERVER_PATH);
    if (!isExecutableFile(resolved)) {
      throw new Error(`TEMPORAL_TEST_SERVER_PATH points to ${resolved}, which is not an executable file. Fix or unset TEMPORAL_TEST_SERVER_PATH.`);
    }
    return resolved;
  }
  const launcher = path.join(toolsDir(repoRoot), TEST_SERVER_LAUNCHER);
  if (!isExecutableFile(launcher)) return null;
  const current = readFileSync(launcher, 'utf8').split('\n')[1] === launcherStamp();
  const jar = path.join(timeSkippingTestServerDir(repoRoot), 'lib', `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}.jar`);
  return current && existsSync(jar) ? launcher : null;
}

/** The `java` the launcher will run (JAVA_HOME's, else the one on PATH), or null when there is none. */
export function findJava(env = process.env) {
  if (env.JAVA_HOME) {
    const fromHome = path.join(env.JAVA_HOME, 'bin', 'java');
    if (isExecutableFile(fromHome)) return fromHome;
  }
  return findExecutableOnPath('java', env.PATH);
}

const debianHint = (pkg) => (isDebian() ? ` (Debian: \`apt-get install -y --no-install-recommends ${pkg}\`)` : '');

/**
 * The time-skipping test server's launcher, fetching the server and its dependencies from Maven Central with Maven
 * the first time (into `.tools`, git-ignored; Maven keeps its own cache in ~/.m2). Throws with what to install when
 * Java or Maven is missing.
 */
export async function ensureTimeSkippingTestServer({ env = process.env, repoRoot = DEFAULT_REPO_ROOT, log = console.error, progressStream = process.stderr } = {}) {
  const existing = findTimeSkippingTestServer({ env, repoRoot });
  if (existing && env.TEMPORAL_TEST_SERVER_PATH) return existing;
  if (!findJava(env)) {
    throw new Error(`The time-skipping tests run Temporal's test server on Java, and no \`java\` was found (JAVA_HOME or PATH). Install Java 17${debianHint('openjdk-17-jre-headless')}, then run again.`);
  }
  if (existing) return existing;

  const mvn = findExecutableOnPath('mvn', env.PATH);
  if (!mvn) {
    throw new Error(`The time-skipping tests need Temporal's test server, which setup fetches from Maven Central with Maven, and \`mvn\` is not on PATH. Install Maven${debianHint('maven')}, or set TEMPORAL_TEST_SERVER_PATH to a test server executable.`);
  }

  return withDirectoryLock(
    path.join(toolsDir(repoRoot), '.test-server-lock'),
    {
      onWait: (owner) => log(`Another process${owner ? ` (pid ${owner.pid})` : ''} is fetching the Temporal test server; waiting for it…`),
      onStillWaiting: (seconds) => log(`  still waiting for the Temporal test server… ${seconds}s`),
    },
    async () => {
      const fetchedMeanwhile = findTimeSkippingTestServer({ env, repoRoot });
      if (fetchedMeanwhile) return fetchedMeanwhile;
      return fetchTimeSkippingTestServer({ mvn, env, repoRoot, log, progressStream });
    },
  );
}

async function fetchTimeSkippingTestServer({ mvn, env, repoRoot, log, progressStream }) {
  const tools = toolsDir(repoRoot);
  // We hold the lock, so a staging folder left behind belongs to a fetch that was killed.
  for (const entry of readdirSync(tools)) {
    if (entry.startsWith(TEST_SERVER_STAGING_PREFIX)) rmSync(path.join(tools, entry), { recursive: true, force: true });
  }
  const staging = path.join(tools, `${TEST_SERVER_STAGING_PREFIX}${process.pid}`);
  mkdirSync(staging, { recursive: true });
  const startedAt = Date.now();
  log(`Fetching Temporal's time-skipping test server (${TEMPORAL_TEST_SERVER_ARTIFACT}) from Maven Central. The first time takes about a minute; later runs reuse ${tools}.`);
  try {
    writeFileSync(path.join(staging, 'pom.xml'), testServerPom());
    const args = ['-B', '-f', path.join(staging, 'pom.xml'), `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`, `-DoutputDirectory=${path.join(staging, 'lib')}`, '-DincludeScope=runtime'];
    await runMavenWithProgress(mvn, args, { env, cwd: staging, log, progressStream });
    if (!existsSync(path.join(staging, 'lib', `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}.jar`))) {
      throw new Error(`Maven finished but temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}.jar is not among the jars it copied`);
    }
    rmSync(path.join(staging, 'pom.xml'));

    const target = timeSkippingTestServerDir(repoRoot);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    // The launcher goes last and by rename: whoever finds it finds the jars complete.
    const launcher = path.join(tools, TEST_SERVER_LAUNCHER);
    const partial = `${launcher}.${process.pid}.tmp`;
    writeFileSync(partial, launcherScript(), { mode: 0o755 });
    renameSync(partial, launcher);
    await checkLauncherRuns(launcher, env);
    log(`Temporal test server ready after ${Math.round((Date.now() - startedAt) / 1000)}s: ${launcher}`);
    return launcher;
  } catch (error) {
    throw new Error(
      `Fetching Temporal's test server failed: ${error instanceof Error ? error.message : String(error)}\n` +
        'Fix the Maven problem shown above (often: no access to Maven Central, or a proxy missing from ~/.m2/settings.xml), or set TEMPORAL_TEST_SERVER_PATH to a test server executable.',
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A pom that only declares what the test server needs at run time, for `dependency:copy-dependencies`. */
function testServerPom() {
  const [groupId, artifactId, version] = TEMPORAL_TEST_SERVER_ARTIFACT.split(':');
  const dependency = (g, a, v) => `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.client-onboarding-engine</groupId>
  <artifactId>temporal-test-server-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency(groupId, artifactId, version)}
${dependency('org.slf4j', 'slf4j-api', SLF4J_VERSION)}
${dependency('org.slf4j', 'slf4j-simple', SLF4J_VERSION)}
  </dependencies>
</project>
`;
}

/**
 * What the SDK runs: it passes `<port>` (plus any `extraArgs`, e.g. `--enable-time-skipping`) and stops the server
 * by killing this process, so the JVM replaces the shell (`exec`) instead of running as its child.
 */
function launcherScript() {
  return `#!/bin/sh
${launcherStamp()}
# Usage: temporal-test-server <port> [--enable-time-skipping]
if [ -n "$JAVA_HOME" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
exec "$JAVA" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \\
  -cp "$HERE/temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}/lib/*" ${TEST_SERVER_MAIN_CLASS} "$@"
`;
}

/** Runs the launcher without a port: the server's main class prints its usage and exits, which proves the classpath. */
function checkLauncherRuns(launcher, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => reject(new Error(`could not run ${launcher}: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0 && output.includes('Usage')) resolve();
      else reject(new Error(`${launcher} did not start the test server's main class (exit code ${code}):\n${output.trim()}`));
    });
  });
}

/** Runs Maven with its output kept back, saying every 10 s (or on one line in a terminal) how far it got. */
function runMavenWithProgress(mvn, args, { env, cwd, log, progressStream }) {
  let downloads = 0;
  return runWithProgress(mvn, args, {
    env,
    cwd,
    log,
    progressStream,
    onLine: (line) => {
      if (/\bDownloaded from /.test(line)) downloads += 1;
    },
    status: (seconds) => `Fetching the Temporal test server with Maven… ${seconds}s, ${downloads} files downloaded`,
  });
}

export async function main(argv = process.argv.slice(2)) {
  const quiet = argv.includes('--quiet');
  try {
    checkNodeVersion();
    // Both `npm start` and `npm test` run the project on it, so it is always needed.
    const node24 = await ensureNode24();
    if (!quiet) console.log(`Node 24: ${node24}`);
    // npm itself runs on Node 24 too, like the code it installs for (and `engines` asks for).
    await ensureDependencies({ env: envWithNodeFirst(node24) });
    const temporalCli = await ensureTemporalCli();
    if (!quiet) console.log(`Temporal CLI: ${temporalCli}`);
    // Only the browser test needs Chromium, so only `npm test` asks for it.
    if (argv.includes('--with-browser')) {
      const chromium = await ensureChromium();
      if (!quiet) console.log(`Chromium: ${chromium}`);
    }
    // Only the time-skipping tests need Java and the test server, so only `npm test` asks for them.
    if (argv.includes('--with-time-skipping')) {
      const testServer = await ensureTimeSkippingTestServer();
      if (!quiet) console.log(`Temporal time-skipping test server: ${testServer}`);
    }
    return 0;
  } catch (error) {
    console.error(`setup failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (isRunAsScript(import.meta.url)) {
  process.exitCode = await main();
}
