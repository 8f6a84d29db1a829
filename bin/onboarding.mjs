#!/usr/bin/env node
// `npx onboarding <command>`: runs the TypeScript CLI (cli/main.ts) through tsx, without a build step, on Node 24.
// Started by an older Node (the system's `node`, which `npx` picks), it runs itself again on the project's Node 24.
import { fileURLToPath } from 'node:url';

if (Number(process.versions.node.split('.')[0]) < 24) {
  const { ensureNode24, envWithNodeFirst, exitLike, runForwardingSignals } = await import('../scripts/node24.mjs');
  let node24;
  try {
    node24 = await ensureNode24();
  } catch (err) {
    console.error(`onboarding: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  exitLike(await runForwardingSignals(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { env: envWithNodeFirst(node24) }));
}

const { register } = await import('tsx/esm/api');
register();
// `onboarding list | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
});
const { runCli } = await import('../cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
