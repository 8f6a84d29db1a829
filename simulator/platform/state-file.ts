import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

/**
 * One platform's state on disk, as JSON. Loading a missing file is a fresh start; an unreadable or invalid one
 * stops the simulator rather than silently losing state. Saving is atomic and written with mode 0600, because
 * the state holds issued secrets (WordPress keys, access tokens).
 */
export class StateFile<State> {
  constructor(
    readonly path: string,
    private readonly schema: z.ZodType<State>,
    private readonly empty: () => State,
  ) {}

  load(): State {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw error;
    }
    const parsed = this.schema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new Error(`simulator state file ${this.path} is not valid: ${z.prettifyError(parsed.error)}`);
    }
    return parsed.data;
  }

  /** Write a temporary file, fsync it, then rename: a crash leaves either the old or the new state, never half. */
  save(state: State): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const temporaryFile = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(temporaryFile, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporaryFile, this.path);
    syncDirectory(dirname(this.path));
  }
}

/** Makes the rename itself durable; not every platform can fsync a directory, and losing that is acceptable here. */
function syncDirectory(directory: string): void {
  try {
    const fd = openSync(directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort only
  }
}
