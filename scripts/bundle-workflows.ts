import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../worker/index.js';

// Production workers load this file (WORKFLOW_BUNDLE_PATH) instead of bundling the workflows at every start.
const outputPath = process.argv[2];
if (!outputPath) {
  console.error('usage: tsx scripts/bundle-workflows.ts <output-path>');
  process.exit(2);
}

const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
const target = path.resolve(outputPath);
await mkdir(path.dirname(target), { recursive: true });
await writeFile(target, code);
console.log(`workflow bundle written to ${target} (${Math.round(Buffer.byteLength(code) / 1024)} KiB)`);
