import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dependencyFingerprint, dependencyInstallReason, ensureChromium, ensureDependencies } from '../scripts/setup.mjs';
import { TEMPORAL_CLI_MODULE, TEMPORAL_CLI_VERSION, ensureTemporalCli, findTemporalCli } from '../scripts/temporal-cli.mjs';
import { tempDirs, writeExecutable } from './temp-files.js';

const temp = tempDirs('temporal-cli-test');
const makeTempDir = temp.make;

// Only absolute paths inside fake scripts, so PATH can be limited to folders the test made.
const fakeTemporal = (dir: string) => writeExecutable(path.join(dir, 'temporal'), 'echo fake temporal');

afterEach(() => {
  temp.removeAll();
});

describe('findTemporalCli', () => {
  it('uses TEMPORAL_CLI_PATH even when another temporal is on PATH', () => {
    const chosen = fakeTemporal(makeTempDir('explicit'));
    const onPath = makeTempDir('path');
    fakeTemporal(onPath);

    const found = findTemporalCli({ env: { TEMPORAL_CLI_PATH: chosen, PATH: onPath }, repoRoot: makeTempDir('repo') });

    expect(found).toBe(chosen);
  });

  it('refuses a TEMPORAL_CLI_PATH that is not an executable file and names the variable', () => {
    const missing = path.join(makeTempDir('explicit'), 'no-such-temporal');

    expect(() => findTemporalCli({ env: { TEMPORAL_CLI_PATH: missing, PATH: '' }, repoRoot: makeTempDir('repo') })).toThrow(
      new RegExp(`TEMPORAL_CLI_PATH.*${missing}`),
    );
  });

  it('refuses a TEMPORAL_CLI_PATH file that is not executable', () => {
    const notExecutable = path.join(makeTempDir('explicit'), 'temporal');
    writeFileSync(notExecutable, 'not a program');

    expect(() => findTemporalCli({ env: { TEMPORAL_CLI_PATH: notExecutable }, repoRoot: makeTempDir('repo') })).toThrow(/TEMPORAL_CLI_PATH/);
  });

  it('uses the temporal on PATH when TEMPORAL_CLI_PATH is not set', () => {
    const emptyDir = makeTempDir('empty');
    const onPath = makeTempDir('path');
    const expected = fakeTemporal(onPath);
    const repoRoot = makeTempDir('repo');
    fakeTemporal(path.join(repoRoot, '.tools'));

    const found = findTemporalCli({ env: { PATH: [emptyDir, onPath].join(path.delimiter) }, repoRoot });

    expect(found).toBe(expected);
  });

  it('falls back to the CLI built into .tools of the repo', () => {
    const repoRoot = makeTempDir('repo');
    const built = fakeTemporal(path.join(repoRoot, '.tools'));

    expect(findTemporalCli({ env: { PATH: makeTempDir('empty') }, repoRoot })).toBe(built);
  });

  it('reports nothing found when no CLI exists anywhere', () => {
    expect(findTemporalCli({ env: { PATH: makeTempDir('empty') }, repoRoot: makeTempDir('repo') })).toBeNull();
  });
});

describe('ensureTemporalCli', () => {
  function fakeGoThatBuildsTemporal(buildLog: string): string {
    const goDir = makeTempDir('go');
    writeExecutable(
      path.join(goDir, 'go'),
      [
        `echo "$@" >> "${buildLog}"`,
        'echo "go: downloading github.com/temporalio/cli v1.5.1" >&2',
        '/bin/sleep 1',
        `printf '#!/bin/sh\\necho built temporal\\n' > "$GOBIN/temporal"`,
        '/bin/chmod +x "$GOBIN/temporal"',
      ].join('\n'),
    );
    return goDir;
  }

  it('builds the CLI only once when two callers need it at the same time', async () => {
    const repoRoot = makeTempDir('repo');
    const buildLog = path.join(makeTempDir('log'), 'go-invocations.txt');
    const env = { PATH: fakeGoThatBuildsTemporal(buildLog) };
    const messages: string[] = [];
    const log = (message: string) => messages.push(message);
    const notATerminal = { isTTY: false, write: () => true };

    const [first, second] = await Promise.all([
      ensureTemporalCli({ env, repoRoot, log, progressStream: notATerminal }),
      ensureTemporalCli({ env, repoRoot, log, progressStream: notATerminal }),
    ]);

    const builtCli = path.join(repoRoot, '.tools', 'temporal');
    expect(first).toBe(builtCli);
    expect(second).toBe(builtCli);
    const invocations = readFileSync(buildLog, 'utf8').trim().split('\n');
    expect(invocations).toHaveLength(1);
    expect(invocations[0]).toMatch(new RegExp(`^install .*${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}$`));
    expect(messages.join('\n')).toMatch(/takes a few minutes/);
  });

  it('tells the user to install Go or set TEMPORAL_CLI_PATH when Go is missing', async () => {
    const attempt = ensureTemporalCli({ env: { PATH: makeTempDir('empty') }, repoRoot: makeTempDir('repo'), log: () => {} });

    await expect(attempt).rejects.toThrow(/Install Go.*TEMPORAL_CLI_PATH/);
  });

  it('shows the end of the Go output when the build fails', async () => {
    const goDir = makeTempDir('go');
    writeExecutable(path.join(goDir, 'go'), 'echo "go: module lookup disabled by GOPROXY=off" >&2\nexit 1');

    const attempt = ensureTemporalCli({ env: { PATH: goDir }, repoRoot: makeTempDir('repo'), log: () => {} });

    await expect(attempt).rejects.toThrow(/GOPROXY=off/);
  });
});

describe('npm dependency freshness', () => {
  function makeRepoWithLockFile(lockContent: string): string {
    const repoRoot = makeTempDir('repo');
    writeFileSync(path.join(repoRoot, 'package.json'), '{"name":"demo"}');
    writeFileSync(path.join(repoRoot, 'package-lock.json'), lockContent);
    return repoRoot;
  }

  it('asks for an install when the lock file changed since the last install', () => {
    const repoRoot = makeRepoWithLockFile('{"lockfileVersion":3,"v":1}');
    const installedFingerprint = dependencyFingerprint(repoRoot);
    writeFileSync(path.join(repoRoot, 'package-lock.json'), '{"lockfileVersion":3,"v":2}');

    const reason = dependencyInstallReason({ hasNodeModules: true, stamp: installedFingerprint, fingerprint: dependencyFingerprint(repoRoot) });

    expect(reason).toMatch(/package-lock\.json changed/);
  });

  it('asks for no install when package.json and the lock file match the last install', () => {
    const fingerprint = dependencyFingerprint(makeRepoWithLockFile('{"lockfileVersion":3}'));

    expect(dependencyInstallReason({ hasNodeModules: true, stamp: fingerprint, fingerprint })).toBeNull();
  });

  it('asks for an install when node_modules is missing or was never stamped', () => {
    const fingerprint = dependencyFingerprint(makeRepoWithLockFile('{"lockfileVersion":3}'));

    expect(dependencyInstallReason({ hasNodeModules: false, stamp: fingerprint, fingerprint })).toMatch(/node_modules is missing/);
    expect(dependencyInstallReason({ hasNodeModules: true, stamp: null, fingerprint })).not.toBeNull();
  });

  it('does not run npm when the stamp in node_modules matches', async () => {
    const repoRoot = makeRepoWithLockFile('{"lockfileVersion":3}');
    mkdirSync(path.join(repoRoot, 'node_modules'));
    writeFileSync(path.join(repoRoot, 'node_modules', '.setup-stamp'), `${dependencyFingerprint(repoRoot)}\n`);
    const messages: string[] = [];

    const installed = await ensureDependencies({ repoRoot, log: (message) => messages.push(message) });

    expect(installed).toBe(false);
    expect(messages).toEqual([]);
  });
});

describe('ensureChromium', () => {
  /** A fake apt-get that logs its arguments and, on install, puts an executable where Debian's chromium goes. */
  function fakeAptGet(aptLog: string, chromiumPath: string): string {
    const aptDir = makeTempDir('apt');
    writeExecutable(
      path.join(aptDir, 'apt-get'),
      [`echo "$@" >> "${aptLog}"`, '/bin/sleep 1', `if [ "$1" = install ]; then printf '#!/bin/sh\n' > "${chromiumPath}"; /bin/chmod +x "${chromiumPath}"; fi`].join('\n'),
    );
    return aptDir;
  }

  it('uses CHROMIUM_PATH and installs nothing', async () => {
    const chosen = writeExecutable(path.join(makeTempDir('chrome'), 'chrome'), 'echo fake chrome');
    const aptLog = path.join(makeTempDir('log'), 'apt-get.txt');
    const env = { CHROMIUM_PATH: chosen, PATH: fakeAptGet(aptLog, path.join(makeTempDir('usr-bin'), 'chromium')) };
    const messages: string[] = [];

    const found = await ensureChromium({ env, repoRoot: makeTempDir('repo'), log: (m) => messages.push(m), isRoot: true, onDebian: true });

    expect(found).toBe(chosen);
    expect(messages).toEqual([]);
    expect(existsSync(aptLog)).toBe(false);
  });

  it("installs Debian's Chromium with apt-get only once when two set-ups need it at the same time", async () => {
    const debianChromium = path.join(makeTempDir('usr-bin'), 'chromium');
    const aptLog = path.join(makeTempDir('log'), 'apt-get.txt');
    const options = { env: { PATH: fakeAptGet(aptLog, debianChromium) }, repoRoot: makeTempDir('repo'), debianChromium, isRoot: true, onDebian: true };
    const messages: string[] = [];
    const log = (message: string) => messages.push(message);

    const [first, second] = await Promise.all([ensureChromium({ ...options, log }), ensureChromium({ ...options, log })]);

    expect(first).toBe(debianChromium);
    expect(second).toBe(debianChromium);
    expect(readFileSync(aptLog, 'utf8').trim().split('\n')).toEqual(['update', 'install -y --no-install-recommends chromium']);
    expect(messages.join('\n')).toMatch(/Installing Debian's Chromium.*once/);
  });

  it('tells a user who is not root what to install, and runs nothing', async () => {
    const debianChromium = path.join(makeTempDir('usr-bin'), 'chromium');
    const aptLog = path.join(makeTempDir('log'), 'apt-get.txt');
    const env = { PATH: fakeAptGet(aptLog, debianChromium) };

    const attempt = ensureChromium({ env, repoRoot: makeTempDir('repo'), debianChromium, isRoot: false, onDebian: true, log: () => {} });

    await expect(attempt).rejects.toThrow(/sudo apt-get install -y --no-install-recommends chromium.*CHROMIUM_PATH/);
    expect(existsSync(aptLog)).toBe(false);
  });

  it('refuses a CHROMIUM_PATH that is not an executable file and names the variable', async () => {
    const missing = path.join(makeTempDir('chrome'), 'no-such-chrome');

    await expect(ensureChromium({ env: { CHROMIUM_PATH: missing }, repoRoot: makeTempDir('repo'), isRoot: true, onDebian: true })).rejects.toThrow(
      new RegExp(`CHROMIUM_PATH.*${missing}`),
    );
  });
});
