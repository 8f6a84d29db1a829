import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Temporary folders a test file makes (`make`), removed together (`removeAll`, in an afterEach). */
export function tempDirs(prefix: string) {
  const made: string[] = [];
  return {
    make(purpose: string): string {
      const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-${purpose}-`));
      made.push(dir);
      return dir;
    },
    removeAll(): void {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small shell script at `file`, executable: a stand-in for a tool the set-up looks for. */
export function writeExecutable(file: string, script: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return file;
}
