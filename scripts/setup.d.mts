// Types for setup.mjs, which stays plain JavaScript because it runs before `npm ci`.
export declare const MINIMUM_NODE_MAJOR: number;

export interface DependencyInstallState {
  hasNodeModules: boolean;
  stamp: string | null;
  fingerprint: string;
}

export declare function checkNodeVersion(version?: string): void;
export declare function dependencyFingerprint(repoRoot?: string): string;
export declare function dependencyInstallReason(state: DependencyInstallState): string | null;
export declare function ensureDependencies(options?: { repoRoot?: string; log?: (message: string) => void }): Promise<boolean>;
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
