// Types for setup.mjs, which stays plain JavaScript because it runs before `npm ci`.
/** The oldest Node the set-up itself runs on; the project runs on Node 24. */
export declare const MINIMUM_NODE_MAJOR: number;

// Re-exported from node24.mjs: the Node 24 that runs the project.
export declare const NODE24_MAJOR: number;

export interface Node24Package {
  /** `node-<platform>-<arch>` on the npm registry. */
  name: string;
  version: string;
}

/** The pinned Node 24 build per `<platform>-<arch>`. */
export declare const NODE24_PACKAGES: Readonly<Record<string, Node24Package>>;

export interface Node24Lookup {
  env?: NodeJS.ProcessEnv;
  repoRoot?: string;
  /** The Node running the caller; a parameter only so tests can pretend it is older. */
  current?: { path: string; version: string };
  platform?: string;
  arch?: string;
}

export interface Node24Install extends Node24Lookup {
  log?: (message: string) => void;
  progressStream?: { isTTY?: boolean; columns?: number; write(text: string): unknown };
}

export interface FoundNode24 {
  path: string;
  version: string;
  /** `NODE24_PATH`, `this Node`, the npm package's name, or `PATH`. */
  source: string;
}

export declare function node24Package(target?: { platform?: string; arch?: string }): Node24Package | null;
export declare function node24InstallDir(version: string, repoRoot?: string): string;
/** `24.22.3` for a Node binary that runs, else null. */
export declare function nodeVersionOf(binary: string): string | null;
/** NODE24_PATH, this Node when 24+, the pinned build in .tools, or (no build for the platform) `node` on PATH; null when it must be fetched. */
export declare function findNode24(options?: Node24Lookup): FoundNode24 | null;
/** The Node 24 binary's path, fetching the pinned build from the npm registry into .tools the first time. */
export declare function ensureNode24(options?: Node24Install): Promise<string>;
/** `env` with the binary's folder first on PATH (unchanged when `node` on PATH already is that binary). */
export declare function envWithNodeFirst(nodeBinary: string, env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;

export interface DependencyInstallState {
  hasNodeModules: boolean;
  stamp: string | null;
  fingerprint: string;
}

export declare function checkNodeVersion(version?: string): void;
export declare function dependencyFingerprint(repoRoot?: string): string;
export declare function dependencyInstallReason(state: DependencyInstallState): string | null;
/** `env` is npm's environment (setup's main() puts Node 24 first on its PATH). */
export declare function ensureDependencies(options?: { repoRoot?: string; log?: (message: string) => void; env?: NodeJS.ProcessEnv }): Promise<boolean>;
export declare const DEBIAN_CHROMIUM: string;

export interface ChromiumLookup {
  env?: NodeJS.ProcessEnv;
  /** Where Debian's `chromium` package puts it; a parameter only so tests can point elsewhere. */
  debianChromium?: string;
}

export interface ChromiumInstall extends ChromiumLookup {
  repoRoot?: string;
  log?: (message: string) => void;
  isRoot?: boolean;
  onDebian?: boolean;
}

export declare function findChromium(options?: ChromiumLookup): string | null;
export declare function ensureChromium(options?: ChromiumInstall): Promise<string>;
export declare function main(argv?: string[]): Promise<number>;

export declare const TEMPORAL_TEST_SERVER_VERSION: string;
/** `io.temporal:temporal-test-server:<version>` on Maven Central. */
export declare const TEMPORAL_TEST_SERVER_ARTIFACT: string;

export interface TestServerLookup {
  env?: NodeJS.ProcessEnv;
  repoRoot?: string;
}

export interface TestServerInstall extends TestServerLookup {
  log?: (message: string) => void;
  progressStream?: NodeJS.WriteStream;
}

export declare function timeSkippingTestServerDir(repoRoot?: string): string;
/** TEMPORAL_TEST_SERVER_PATH, else `.tools/temporal-test-server` when it is complete and current; null otherwise. */
export declare function findTimeSkippingTestServer(options?: TestServerLookup): string | null;
export declare function findJava(env?: NodeJS.ProcessEnv): string | null;
export declare function ensureTimeSkippingTestServer(options?: TestServerInstall): Promise<string>;
