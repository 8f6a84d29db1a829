#!/usr/bin/env node
// `npx onboarding <command>`: runs the TypeScript CLI (cli/main.ts) through tsx, without a build step.
import { register } from 'tsx/esm/api';

register();
// `onboarding list | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
});
const { runCli } = await import('../cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
