/** Where the CLI writes and what it reads from its surroundings; `process.stdout`/`process.env` in the shim, collectors in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What `secret set` reads the value from: piped text, or keystrokes on a terminal (raw mode, nothing echoed). */
export interface InputStream extends AsyncIterable<string | Buffer> {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  removeListener(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** Defaults to `process.stdin`. */
  stdin?: InputStream;
  /** The HTTP client; defaults to the global fetch. */
  fetch?: typeof fetch;
}
