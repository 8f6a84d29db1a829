// Types for temporal-cli.mjs, which stays plain JavaScript because it runs before `npm ci`.
export declare const TEMPORAL_CLI_VERSION: string;
export declare const TEMPORAL_CLI_MODULE: string;
export declare const DEFAULT_REPO_ROOT: string;

export interface TemporalCliLookup {
  env?: NodeJS.ProcessEnv;
  repoRoot?: string;
}

export interface TemporalCliInstall extends TemporalCliLookup {
  log?: (message: string) => void;
  /** Where the single updating progress line goes when it is a terminal; otherwise `log` gets a line every 10 s. */
  progressStream?: { isTTY?: boolean; columns?: number; write(text: string): unknown };
}

export interface LockOwner {
  pid: number;
  host: string;
}

export interface DirectoryLockOptions {
  onWait?: (owner: LockOwner | null) => void;
  onStillWaiting?: (waitedSeconds: number) => void;
  staleAfterMs?: number;
}

export declare function isExecutableFile(file: string): boolean;
export declare function toolsDir(repoRoot?: string): string;
export declare function findExecutableOnPath(name: string, envPath?: string): string | null;
export declare function findTemporalCli(options?: TemporalCliLookup): string | null;
export declare function ensureTemporalCli(options?: TemporalCliInstall): Promise<string>;
export declare function withDirectoryLock<T>(lockDir: string, options: DirectoryLockOptions, work: () => Promise<T>): Promise<T>;
export declare function isRunAsScript(moduleUrl: string): boolean;
export declare function runWithProgress(
  command: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    label?: string;
    log: (line: string) => void;
    progressStream?: NodeJS.WriteStream;
    onLine?: (line: string) => void;
    status?: (seconds: number) => string;
  },
): Promise<void>;
