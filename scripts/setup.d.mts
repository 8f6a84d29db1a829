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
