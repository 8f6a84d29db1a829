import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { TEST_DATA_CONVERTER } from './support.js';

const { temporal } = proto;

/**
 * Onboardings run for weeks: a worker with today's workflow code must replay every history recorded with earlier
 * code (`npm run record-histories`) without a nondeterminism error, or the onboardings in flight would break on
 * deployment. Each file is a real history from a real dev server.
 */
// Replay workers log every state change at INFO; a failure still shows as the test's error.
Runtime.install({ logger: new DefaultLogger('WARN') });

const HISTORIES = path.join(import.meta.dirname, 'histories');

describe('workflow histories recorded with earlier code replay on the current code', async () => {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();

  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files)('%s', async (file) => {
    const { workflowId, data } = JSON.parse(await readFile(path.join(HISTORIES, file), 'utf8')) as { workflowId: string; data: string };
    const history = temporal.api.history.v1.History.decode(Buffer.from(data, 'base64'));
    expect(history.events.length).toBeGreaterThan(10);
    // Throws DeterminismViolationError (or the workflow's own error) when the code no longer fits the history. With the
    // engine's data converter: histories recorded before encryption pass through its codec unchanged.
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: file, dataConverter: TEST_DATA_CONVERTER }, history, workflowId);
  });
});
