import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { findTemporalCli } from '../scripts/temporal-cli.mjs';
import { WORKFLOWS_PATH } from '../worker/index.js';
import { freePort } from './free-port.js';
import { ONBOARDING_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    workflowBundlePath: string;
    /** The dev server's Web UI, for the browser test. */
    temporalUiUrl: string;
  }
}

/** Starts one throwaway Temporal dev server (the real CLI) and bundles the workflows once for all test files. */
export default async function setup(project: TestProject) {
  const cliPath = findTemporalCli();
  if (!cliPath) throw new Error('No Temporal CLI found: run `node scripts/setup.mjs` (npm test does) or set TEMPORAL_CLI_PATH');

  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cliPath },
      ip: '127.0.0.1',
      ui: true,
      uiPort,
      log: { format: 'pretty', level: 'warn' },
      searchAttributes: ONBOARDING_SEARCH_ATTRIBUTES,
    },
  });

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-tests-'));
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  const workflowBundlePath = path.join(workDir, 'workflow-bundle.js');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(workflowBundlePath, code);

  project.provide('temporalAddress', env.address);
  project.provide('temporalCliPath', cliPath);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('temporalUiUrl', `http://127.0.0.1:${uiPort}`);

  return async () => {
    await env.teardown();
    await rm(workDir, { recursive: true, force: true });
  };
}


const quietBundlerLogger = {
  trace() {},
  debug() {},
  info() {},
  warn(message: string, meta?: unknown) {
    console.warn(message, meta ?? '');
  },
  error(message: string, meta?: unknown) {
    console.error(message, meta ?? '');
  },
  log() {},
};
