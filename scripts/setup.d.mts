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
export declare function main(argv?: string[]): Promise<number>;
