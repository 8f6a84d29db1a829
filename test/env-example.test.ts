import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLE_NAMES } from '../config/index.js';

describe('.env.example', () => {
  it('lists every variable the configuration reads, and nothing it does not', async () => {
    const listed = (await readFile(new URL('../.env.example', import.meta.url), 'utf8'))
      .split('\n')
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => line.slice(0, line.indexOf('=')));
    // TEMPORAL_CLI_PATH is read by the set-up script, before any configuration is parsed.
    expect(new Set(listed)).toEqual(new Set([...ENV_VARIABLE_NAMES, 'TEMPORAL_CLI_PATH']));
  });
});
