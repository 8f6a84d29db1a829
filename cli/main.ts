/**
 * `npx onboarding <command>`: operate onboardings through the ops HTTP API (see cli/README.md).
 * `runCli` takes its arguments and surroundings as parameters, so tests run it in-process; bin/onboarding.mjs runs it for real.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX, ONBOARDING_PHASES, SUBMISSIONS_SINCE_DEFAULT, WORKFLOW_KINDS, type ClientCorrections } from '../api/ops-schemas.js';
import { SECRET_NAMES, SECRETS } from '../platforms/catalog.js';
import { bulkRetryExitCode, renderBulkRetrySummary, retryFailedOnboardings, type BulkRetryProgress } from './bulk-retry.js';
import { EXIT_CODE_HELP, ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { isOffboardingView, OpsApi, OpsApiError, type OnboardingPage } from './ops-api.js';
import { noProgress, progressBar, progressLines } from './progress.js';
import { createPalette, renderAuditTable, renderOffboarding, renderOnboarding, renderOnboardingTable, renderResellerCheck, renderResellerSites, renderSubmissions, type Palette } from './render.js';
import { PromptCancelled, readSecretValue } from './secret-input.js';
import { formatTimestamp, parseSince } from './time.js';

export type { CliIo, OutputStream } from './io.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';
/** The API's own development default for OPS_API_TOKEN, so `npm start` plus the CLI work with no set-up. */
const DEVELOPMENT_TOKEN = 'dev-ops-token';
const DEFAULT_LIST_LIMIT = 50;
const DEFAULT_SECRET = 'wordpress-api-key';

/** A command line that cannot be carried out as written; exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface GlobalOptions {
  json?: boolean;
  apiUrl?: string;
  token?: string;
}

interface CommandContext {
  api: OpsApi;
  json: boolean;
  palette: Palette;
  actor: string;
  now: Date;
  out(text: string): void;
  printJson(value: unknown): void;
}

/** Runs one command line (without `node` and the script) and resolves to the exit code; never calls process.exit. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}

function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('onboarding');
  // Settings made here are inherited by every subcommand added below.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)');

  program
    .description(
      "Operate client onboardings through the ops API: list, inspect, retry, check DNS, cancel, read or store a client's secrets and read their audit trail; and look at the Netlify reseller account: its sites, form submissions and settings.",
    )
    .version(packageVersion(), '-V, --version', 'print the CLI version')
    .helpOption('-h, --help', 'show help for a command')
    .option('--json', "machine output on stdout: the API's JSON (bulk retry: a summary object); no colour, no progress")
    .option('--api-url <url>', `ops API base URL (env ONBOARDING_API_URL, default ${DEFAULT_API_URL})`)
    .option('--token <token>', "ops API bearer token (env OPS_API_TOKEN, default the API's development token)")
    .addHelpText(
      'after',
      `
Environment:
  ONBOARDING_API_URL  ops API base URL (--api-url wins)
  OPS_API_TOKEN       ops API bearer token (--token wins)
  NO_COLOR            set to turn colour off (colour is only used when stdout is a terminal)

${EXIT_CODE_HELP}

Examples:
  onboarding list --status failed
  onboarding show onboarding-crm-123
  onboarding show offboarding-crm-123
  onboarding retry onboarding-crm-123 --email owner@acme.com --reason "client fixed the typo"
  onboarding retry --failed-since 24h --reason "rejected" --dry-run
  onboarding cancel onboarding-crm-123 --reason "client withdrew"
  onboarding secret onboarding-crm-123 netlify-access-token
  onboarding audit --onboarding onboarding-crm-123 --since 7d
  onboarding sites
  onboarding reseller check`,
    );

  const run = (action: (ctx: CommandContext, ...args: never[]) => Promise<number | void>) =>
    async (...args: unknown[]) => {
      const command = args.at(-1) as Command;
      const code = await action(commandContext(command, io), ...(args as never[]));
      setExitCode(code ?? ExitCode.ok);
    };

  program
    .command('list')
    .description('list onboardings and offboardings as a table, newest first, the current run of each (one page unless --all)')
    .addOption(new Option('--status <status>', 'only this status (failed: awaiting action, and closed ones given up)').choices(ONBOARDING_PHASES))
    .option('--needs-attention', 'only onboardings that need a person (open, or closed: a completed one with a lost key, a failure given up)')
    .addOption(new Option('--kind <kind>', 'only onboardings, or only offboardings').choices(WORKFLOW_KINDS))
    .option('--domain <domain>', 'only this domain')
    .option('--client-id <id>', "only this CRM client id")
    .option('--limit <n>', `n onboardings per page (1-200, default ${DEFAULT_LIST_LIMIT}; 200 with --all)`, parsePageSize)
    .option('--all', 'follow every page to the end')
    .action(
      run(async (ctx, options: { status?: string; needsAttention?: boolean; kind?: string; domain?: string; clientId?: string; limit?: number; all?: boolean }) => {
        const query = { status: options.status, needsAttention: options.needsAttention ? true : undefined, kind: options.kind, domain: options.domain, clientId: options.clientId };
        const page: OnboardingPage = options.all
          ? { items: await ctx.api.listAllOnboardings({ ...query, pageSize: options.limit }), nextPageToken: null }
          : await ctx.api.listOnboardings({ ...query, pageSize: options.limit ?? DEFAULT_LIST_LIMIT });
        if (ctx.json) return ctx.printJson(page);
        ctx.out(page.items.length === 0 ? 'No onboardings match.\n' : renderOnboardingTable(page.items, ctx.now, ctx.palette));
        if (page.nextPageToken) io.stderr.write(`(more onboardings match: pass --all to list every page)\n`);
      }),
    );

  program
    .command('show')
    .description(
      "one onboarding: status, attention, failure, the last error of a call that keeps failing, steps, DNS progress, signup email, the client's offboarding, changes; or one offboarding: churned, removal due, what was removed, secrets",
    )
    .argument('<id>', 'onboarding-<clientId> or offboarding-<clientId>')
    .action(
      run(async (ctx, id: string) => {
        const view = await ctx.api.getOnboardingOrOffboarding(id);
        if (ctx.json) return ctx.printJson(view);
        ctx.out(isOffboardingView(view) ? renderOffboarding(view, ctx.now, ctx.palette) : renderOnboarding(view, ctx.now, ctx.palette));
      }),
    );

  program
    .command('retry')
    .description('retry one onboarding (with corrections), or with --failed-since every failed one since a time')
    .argument('[id]', 'onboarding id (single mode)')
    .option('--email <email>', 'single: corrected client email')
    .option('--domain <domain>', 'single: corrected domain')
    .option('--name <name>', 'single: corrected client name')
    .option(
      '--reason <text>',
      'single: why you retry (kept in the onboarding\'s change log). With --failed-since: a FILTER, only onboardings whose failure reason contains <text> (case-insensitive; same as --reason-contains)',
    )
    .option('--resume-cancelled', 'single: resume an onboarding someone cancelled (refused without it)')
    .option('--failed-since <time>', 'bulk: every onboarding that failed since <time>: an ISO date (2026-11-20, 2026-11-20T08:00:00Z) or a span back from now (30m, 24h, 7d)')
    .option('--reason-contains <text>', 'bulk: only onboardings whose failure reason contains <text> (case-insensitive)')
    .option('--dry-run', 'bulk: list what would be retried, retry nothing')
    .addHelpText(
      'after',
      `
Single:  onboarding retry onboarding-crm-123 --domain acme-plumbing.com --reason "typo in the CRM"
         onboarding retry onboarding-crm-123 --resume-cancelled --reason "the client is back on"
Bulk:    onboarding retry --failed-since 24h --reason "owned by another account" [--dry-run]
Bulk retries go one at a time with progress on stderr and end with a summary (retried, skipped, failed).
An onboarding the API refuses (409, e.g. already running again) counts as skipped; any other error as failed,
and the exit code is then 1.`,
    )
    .action(
      run(async (ctx, id: string | undefined, options: RetryOptions) => {
        if (options.failedSince !== undefined) return bulkRetry(ctx, io, id, options);
        return singleRetry(ctx, id, options);
      }),
    );

  program
    .command('dns-check')
    .description('ask a waiting onboarding to check DNS now instead of at its next timer')
    .argument('<id>', 'onboarding id')
    .action(
      run(async (ctx, id: string) => {
        const answer = await ctx.api.checkDnsNow(id);
        if (ctx.json) return ctx.printJson(answer);
        ctx.out(`Asked ${id} to check DNS now; \`onboarding show ${id}\` shows the result in a moment.\n`);
      }),
    );

  program
    .command('cancel')
    .description('cancel a running onboarding (a failed one waiting for ops too); who and why go into its change log')
    .argument('<id>', 'onboarding id')
    .option('--reason <text>', "why (kept in the onboarding's change log, with who asked)")
    .action(
      run(async (ctx, id: string, options: { reason?: string }) => {
        const answer = await ctx.api.cancel(id, options.reason);
        if (ctx.json) return ctx.printJson(answer);
        ctx.out(`${id} is ${answer.status}.\n`);
      }),
    );

  const secret = program
    .command('secret')
    .description("print one of the client's secrets alone on stdout (every read is audited); `secret set` stores one")
    .argument('<id>', 'onboarding id')
    .addArgument(new Argument('[name]', 'which secret').choices(SECRET_NAMES).default(DEFAULT_SECRET))
    .addHelpText(
      'after',
      `
Read:   onboarding secret onboarding-crm-123                      (the WordPress key)
        onboarding secret onboarding-crm-123 netlify-access-token
Store:  pbpaste | onboarding secret set onboarding-crm-123 wordpress-api-key
        onboarding secret set onboarding-crm-123 wordpress-api-key   (on a terminal: asks, without echoing)`,
    )
    .action(
      run(async (ctx, id: string, name: string) => {
        io.stderr.write(`note: this read is audited as ${ctx.actor}; keep the key out of chat and tickets.\n`);
        const value = await ctx.api.revealSecret(id, name);
        if (ctx.json) return ctx.printJson(value);
        ctx.out(`${value.value}\n`);
      }),
    );

  secret
    .command('set')
    .description('store a secret by hand (e.g. a WordPress key regenerated in the NextNet dashboard), read from stdin or typed at a hidden prompt; never taken from the command line')
    .argument('<id>', 'onboarding id')
    .addArgument(new Argument('<name>', 'which secret').choices(SECRET_NAMES))
    .action(
      run(async (ctx, id: string, name: string) => {
        const label = SECRETS.find((declared) => declared.name === name)?.label ?? name;
        let value: string;
        try {
          value = await readSecretValue(io.stdin ?? process.stdin, io.stderr, `${label} for ${id} (typing is not shown): `);
        } catch (err) {
          if (err instanceof PromptCancelled) throw new UsageError(err.message);
          throw err;
        }
        if (value.trim() === '') throw new UsageError(`no ${label} given: pipe it on stdin (pbpaste | onboarding secret set ${id} ${name}) or type it at the prompt`);
        const stored = await ctx.api.storeSecret(id, name, value);
        if (ctx.json) return ctx.printJson(stored);
        ctx.out(`Stored the ${label} of ${stored.onboardingId} (${stored.outcome}); the write is audited as ${ctx.actor}.\n`);
        if (name === DEFAULT_SECRET) ctx.out(`If ${stored.onboardingId} needs attention because its key was lost, \`onboarding retry ${stored.onboardingId}\` resumes it.\n`);
      }),
    );

  program
    .command('audit')
    .description("the vault's audit trail, oldest first: who read, wrote or revoked which secret, when, and how it ended (never a value)")
    .option('--onboarding <id>', "only this onboarding's secrets")
    .option('--since <time>', 'the first entries since then: an ISO date or date-time (2026-11-20, 2026-11-20T08:00:00Z) or a span back from now (30m, 24h, 7d); without it, the latest')
    .option('--limit <n>', `at most n entries (1-${AUDIT_LIMIT_MAX}, default ${AUDIT_LIMIT_DEFAULT})`, parseAuditLimit)
    .action(
      run(async (ctx, options: { onboarding?: string; since?: string; limit?: number }) => {
        const since = options.since === undefined ? undefined : parseSince(options.since, ctx.now);
        if (options.since !== undefined && since === undefined) {
          throw new UsageError(`--since ${JSON.stringify(options.since)} is neither an ISO date (2026-11-20, 2026-11-20T08:00:00Z) nor a span like 30m, 24h, 7d`);
        }
        const limit = options.limit ?? AUDIT_LIMIT_DEFAULT;
        const page = await ctx.api.listAudit({ onboardingId: options.onboarding, since: since?.toISOString(), limit });
        if (ctx.json) return ctx.printJson(page);
        if (page.items.length === 0) {
          ctx.out(`No audit entries${options.onboarding ? ` for ${options.onboarding}` : ''}${since ? ` since ${formatTimestamp(since.toISOString())}` : ''}.\n`);
          return;
        }
        ctx.out(renderAuditTable(page.items, ctx.palette));
        if (page.items.length === limit) io.stderr.write(`(showing ${limit} entries, the ${since ? 'first since then' : 'latest'}: pass --limit or --since for others)\n`);
      }),
    );

  program
    .command('sites')
    .description('every site of the Netlify reseller account with the onboarding it belongs to (ORPHAN when none), then the orphans on either side')
    .action(
      run(async (ctx) => {
        const done = slowListingNote(ctx, io, "listing every site of the reseller account and finding each one's onboarding");
        const view = await ctx.api.resellerSites().finally(done);
        if (ctx.json) return ctx.printJson(view);
        ctx.out(renderResellerSites(view, ctx.palette));
      }),
    );

  program
    .command('submissions')
    .description('the latest form submissions across the reseller account, each with the onboarding (client) of its site')
    .option('--since <time>', 'since when: an ISO date or date-time (2026-11-20, 2026-11-20T08:00:00Z) or a span back from now (30m, 24h, 7d)', SUBMISSIONS_SINCE_DEFAULT)
    .action(
      run(async (ctx, options: { since: string }) => {
        const since = parseSince(options.since, ctx.now);
        if (since === undefined) throw new UsageError(`--since ${JSON.stringify(options.since)} is neither an ISO date (2026-11-20, 2026-11-20T08:00:00Z) nor a span like 30m, 24h, 7d`);
        const done = slowListingNote(ctx, io, `listing the form submissions since ${formatTimestamp(since.toISOString())}`);
        const view = await ctx.api.resellerSubmissions(since.toISOString()).finally(done);
        if (ctx.json) return ctx.printJson(view);
        ctx.out(renderSubmissions(view, ctx.palette));
      }),
    );

  const reseller = program.command('reseller').description('the Netlify reseller account: `reseller check` checks its settings');
  reseller
    .command('check')
    .description("check the reseller settings Netlify cannot check itself: the preview domain's wildcard CNAME, the notification domain's SPF and DKIM, the custom pages; exit 1 when any fails")
    .action(
      run(async (ctx) => {
        const view = await ctx.api.resellerCheck();
        if (ctx.json) ctx.printJson(view);
        else ctx.out(renderResellerCheck(view, ctx.palette));
        return view.ok ? ExitCode.ok : ExitCode.failed;
      }),
    );

  return program;
}

interface RetryOptions {
  resumeCancelled?: boolean;
  email?: string;
  domain?: string;
  name?: string;
  reason?: string;
  failedSince?: string;
  reasonContains?: string;
  dryRun?: boolean;
}

async function singleRetry(ctx: CommandContext, id: string | undefined, options: RetryOptions): Promise<number> {
  if (id === undefined) throw new UsageError('retry needs an onboarding id, or --failed-since <time> to retry every failed onboarding since then');
  if (options.reasonContains !== undefined || options.dryRun) throw new UsageError('--reason-contains and --dry-run only apply to a bulk retry (with --failed-since)');
  const corrections: ClientCorrections = {};
  if (options.email !== undefined) corrections.email = options.email;
  if (options.domain !== undefined) corrections.domain = options.domain;
  if (options.name !== undefined) corrections.name = options.name;
  const accepted = await ctx.api.retry(id, {
    ...(Object.keys(corrections).length > 0 ? { corrections } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    ...(options.resumeCancelled ? { resumeCancelled: true } : {}),
  });
  if (ctx.json) {
    ctx.printJson(accepted);
  } else {
    ctx.out(`${accepted.onboardingId} is ${accepted.status}; it resumes at ${accepted.resumesAt}.\n`);
  }
  return ExitCode.ok;
}

async function bulkRetry(ctx: CommandContext, io: CliIo, id: string | undefined, options: RetryOptions): Promise<number> {
  if (id !== undefined) throw new UsageError(`give either an onboarding id or --failed-since, not both (got ${id})`);
  if (options.email !== undefined || options.domain !== undefined || options.name !== undefined) {
    throw new UsageError('--email, --domain and --name correct one onboarding; they cannot be applied to a bulk retry');
  }
  if (options.resumeCancelled) throw new UsageError('--resume-cancelled resumes one cancelled onboarding; a bulk retry is for failed ones');
  if (options.reason !== undefined && options.reasonContains !== undefined && options.reason !== options.reasonContains) {
    throw new UsageError('with --failed-since, --reason is the failure-reason filter; give it or --reason-contains, not two different filters');
  }
  const failedSince = parseSince(options.failedSince ?? '', ctx.now);
  if (failedSince === undefined) {
    throw new UsageError(`--failed-since ${JSON.stringify(options.failedSince)} is neither an ISO date (2026-11-20, 2026-11-20T08:00:00Z) nor a span like 30m, 24h, 7d`);
  }

  const progress: BulkRetryProgress = ctx.json
    ? { checking: () => noProgress, retrying: () => noProgress }
    : io.stderr.isTTY
      ? { checking: (total) => progressBar(io.stderr, 'checking', total), retrying: (total) => progressBar(io.stderr, 'retrying', total) }
      : {
          checking: (total) => {
            io.stderr.write(`reading when and why ${total} failed onboarding${total === 1 ? '' : 's'} failed\n`);
            return noProgress;
          },
          retrying: (total) => progressLines(io.stderr, 'retry', total),
        };

  const summary = await retryFailedOnboardings(ctx.api, { failedSince, reasonContains: options.reasonContains ?? options.reason, dryRun: options.dryRun ?? false }, progress);
  if (ctx.json) ctx.printJson(summary);
  else ctx.out(renderBulkRetrySummary(summary, formatTimestamp));
  return bulkRetryExitCode(summary);
}

/**
 * A listing that may take a while (it pages through the whole reseller account): says so on stderr, erased again on
 * a terminal, one line otherwise, nothing with --json. Returns what to call when the answer is in.
 */
function slowListingNote(ctx: CommandContext, io: CliIo, what: string): () => void {
  if (ctx.json) return () => undefined;
  if (!io.stderr.isTTY) {
    io.stderr.write(`${what}\n`);
    return () => undefined;
  }
  io.stderr.write(`${what}…`);
  return () => void io.stderr.write('\r\u001b[2K');
}

function commandContext(command: Command, io: CliIo): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const json = options.json ?? false;
  const actor = opsActor(io.env);
  return {
    api: new OpsApi({
      baseUrl: apiBaseUrl(nonEmpty(options.apiUrl) ?? nonEmpty(io.env.ONBOARDING_API_URL) ?? DEFAULT_API_URL),
      token: nonEmpty(options.token) ?? nonEmpty(io.env.OPS_API_TOKEN) ?? DEVELOPMENT_TOKEN,
      actor,
      fetch: io.fetch ?? globalThis.fetch,
    }),
    json,
    // NO_COLOR follows no-color.org: set and non-empty turns colour off.
    palette: createPalette(!json && io.stdout.isTTY === true && !nonEmpty(io.env.NO_COLOR)),
    actor,
    now: new Date(),
    out: (text) => void io.stdout.write(text),
    printJson: (value) => void io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

function apiBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`the API URL ${JSON.stringify(raw)} is not a URL (expected something like ${DEFAULT_API_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`the API URL must be http or https, not ${url.protocol}`);
  // A trailing slash keeps a path prefix (https://ops.example.com/onboarding/) when request paths are resolved against it.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** `user@host via cli`, for the API's audit log; header values must be printable ASCII. */
function opsActor(env: Record<string, string | undefined>): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = env.USER ?? env.LOGNAME ?? 'unknown';
  }
  return `${user}@${os.hostname()} via cli`.replace(/[^\x20-\x7e]/g, '?');
}

function parsePageSize(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 200) throw new InvalidArgumentError('must be a whole number from 1 to 200');
  return n;
}

function parseAuditLimit(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > AUDIT_LIMIT_MAX) throw new InvalidArgumentError(`must be a whole number from 1 to ${AUDIT_LIMIT_MAX}`);
  return n;
}

/** Empty strings count as unset, as in the service's own config. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

function reportError(err: unknown, io: CliIo): number {
  // Commander has already printed its message (or the help / version it was asked for).
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  if (err instanceof UsageError) {
    io.stderr.write(`error: ${err.message}\nhint: run \`onboarding --help\` (or \`onboarding <command> --help\`) for usage\n`);
    return ExitCode.usage;
  }
  if (err instanceof OpsApiError) {
    const lines = [`error: ${err.message}`, ...(err.details.fields ?? []).map((problem) => `  ${problem.field}: ${problem.message}`)];
    const hint = hintFor(err);
    if (hint) lines.push(`hint: ${hint}`);
    io.stderr.write(`${lines.join('\n')}\n`);
    return err.exitCode;
  }
  io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return ExitCode.failed;
}

/** What to do next, for each way the API can say no. */
function hintFor(err: OpsApiError): string | undefined {
  const id = err.request.onboardingId;
  const secretName = /\/secrets\/([^/]+)$/.exec(err.request.path)?.[1];
  const isNetlify = err.details.code === 'netlify_not_configured' || err.details.code === 'netlify_unavailable';
  switch (err.status) {
    case 'unreachable':
      return 'is the API running? npm start (or point --api-url / ONBOARDING_API_URL at it)';
    case 503:
      if (err.details.code === 'no_worker') return 'start a worker (npm start, or npm run worker), then try again';
      if (err.details.code === 'netlify_not_configured') return 'set NETLIFY_RESELLER_TOKEN (and NETLIFY_API_URL) in the environment of the API, not of this CLI, and restart the API';
      if (isNetlify) return `the API is up but Netlify did not answer it; check NETLIFY_API_URL and NETLIFY_RESELLER_TOKEN where the API runs, then try again in ${err.details.retryAfterSeconds ?? 'a few'} s`;
      return `the API is up but cannot reach Temporal; is npm start still running? try again in ${err.details.retryAfterSeconds ?? 'a few'} s`;
    case 401:
      return 'set OPS_API_TOKEN or pass --token (the token the API was started with)';
    case 400:
      return 'fix the values named above and try again';
    case 404:
      if (err.details.code === 'audit_unavailable') return 'run the API with DATABASE_URL set (npm start does, with its embedded PostgreSQL); the file vault only logs its audit lines';
      if (secretName && id && err.details.code === 'secret_not_found') {
        return secretName === DEFAULT_SECRET
          ? `\`onboarding show ${id}\` says whether registration kept the key (a lost one is regenerated in the NextNet dashboard)`
          : `\`onboarding show ${id}\` says whether the onboarding got that far`;
      }
      return 'check the id with `onboarding list`';
    case 410:
      return secretName === DEFAULT_SECRET || secretName === undefined
        ? 'the key was revoked (the client was offboarded); a new one can only come from the NextNet dashboard'
        : 'the secret was revoked when the client was offboarded';
    case 409:
      if (id && err.details.code === 'onboarding_cancelled') return `someone cancelled it on purpose; to resume it anyway: onboarding retry ${id} --resume-cancelled`;
      if (id && err.details.code === 'not_an_onboarding') return `\`onboarding show ${id}\` shows the offboarding; a client.reactivated delivery within its grace period stops the removal`;
      return id ? `\`onboarding show ${id}\` shows its state` : undefined;
    default:
      return typeof err.status === 'number' && err.status >= 500 ? 'the API logged the cause; check its logs, then try again' : undefined;
  }
}
