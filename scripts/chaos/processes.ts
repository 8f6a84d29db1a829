/**
 * Real child processes for `npm run chaos`: each in its own process group (so a SIGKILL reaches all of it), its
 * stdout and stderr appended to one log file per process (every incarnation of it), which the chaos run scans for
 * secrets afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, statSync, type WriteStream } from 'node:fs';

export interface ProcessSpec {
  /** Short name, also the log file's name: `worker-1`, `api-2`, `temporal`, `simulator`. */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  /** A line that says the process is up (e.g. `"msg":"worker started"`); without it, up = spawned. */
  readyLine?: RegExp;
  readyTimeoutMs?: number;
}

export { freePort } from '../../test/free-port.js';

const everyProcess = new Set<ManagedProcess>();

/** Kills every managed process still running, at once (for `process.on('exit')`: a harness that dies leaves no orphans). */
export function killAllSync(): void {
  for (const managed of everyProcess) {
    const pid = managed.pid;
    if (!managed.running || pid === undefined) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;
  private tail: string[] = [];
  private expectedExit = false;
  /** Exits nobody asked for (a crash), with how the process ended. */
  readonly unexpectedExits: string[] = [];
  /** Called after an exit nobody asked for (the supervisor may restart the process). */
  onUnexpectedExit: ((how: string) => void) | undefined;
  /** Signals this run sent (a start that fails after one was cut short on purpose, not broken). */
  private signalsSent = 0;

  constructor(readonly spec: ProcessSpec) {
    this.log = createWriteStream(spec.logFile, { flags: 'a' });
    everyProcess.add(this);
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits for its ready line; rejects (with its last output) when it exits first. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.expectedExit = false;
    this.tail = [];
    const child = spawn(this.spec.command, this.spec.args, { cwd: this.spec.cwd, env: this.spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    let ready = !this.spec.readyLine;
    let partial = '';
    let resolveReady: () => void = () => {};
    const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));
    const onData = (chunk: Buffer) => {
      this.log.write(chunk);
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
        if (!ready && this.spec.readyLine!.test(line)) {
          ready = true;
          resolveReady();
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`)));
    void exited.then((how) => {
      if (this.child === child && !this.expectedExit) {
        this.unexpectedExits.push(how);
        this.onUnexpectedExit?.(how);
      }
    });
    if (ready) return;
    const timeoutMs = this.spec.readyTimeoutMs ?? 90_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      readyPromise.then(() => 'ready' as const),
      exited.then((how) => `exited (${how})`),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`not ready after ${timeoutMs / 1000} s`), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome !== 'ready') {
      if (this.running) await this.kill('SIGKILL');
      throw new Error(`${this.name} ${outcome}; last output:\n${this.lastOutput()}`);
    }
  }

  /**
   * Starts the process unless it is running (or starting) already; a start cut short by a kill of ours (another
   * part of the run killed it meanwhile) is tried again.
   */
  async ensureRunning(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      if (this.running) return;
      const signalsBefore = this.signalsSent;
      try {
        await this.start();
        return;
      } catch (err) {
        if (this.signalsSent === signalsBefore || attempt >= 5) throw err;
      }
    }
  }

  lastOutput(): string {
    return this.tail.slice(-20).join('\n');
  }

  /** Sends `signal` to the whole process group and waits until the process has exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectedExit = true;
    this.signalsSent += 1;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid!, signal);
    } catch {
      child.kill(signal);
    }
    await exited;
  }

  /** SIGTERM (the process drains), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    await this.kill('SIGTERM');
    clearTimeout(timer);
  }

  /** How far the log file has got, to scan a scenario's part of it. */
  logSize(): number {
    try {
      return statSync(this.spec.logFile).size;
    } catch {
      return 0;
    }
  }

  async closeLog(): Promise<void> {
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}
