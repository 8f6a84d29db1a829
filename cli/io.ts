/** Where the CLI writes and what it reads from its surroundings; `process.stdout`/`process.env` in the shim, collectors in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** The HTTP client; defaults to the global fetch. */
  fetch?: typeof fetch;
}
