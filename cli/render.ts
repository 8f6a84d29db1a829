import type { ClientOffboardingView, LastErrorView, OffboardingView, OnboardingListItem, OnboardingView, ResellerCheckView, ResellerSitesView, ResellerSubmissionsView, SecretAuditEntryView } from './ops-api.js';
import { isPlatformName, platformOf } from '../platforms/catalog.js';
import { formatDuration, formatRelative, formatTimestamp } from './time.js';

export interface Palette {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const ansi = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function createPalette(enabled: boolean): Palette {
  if (!enabled) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain };
  return { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39) };
}

/** A cell's text, and how to colour it once padded (colour codes must not count towards the column width). */
export interface Cell {
  text: string;
  paint?: (text: string) => string;
}

/** Plain columns separated by two spaces, aligned on each cell's visible text. */
export function renderTable(headers: string[], rows: Array<Array<Cell | string>>, palette: Palette): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'string' ? { text: cell } : cell)));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]?.text.length ?? 0)));
  const line = (row: Cell[]) =>
    row
      .map((cell, i) => {
        const padded = i === row.length - 1 ? cell.text : cell.text.padEnd(widths[i] ?? 0);
        return cell.paint ? cell.paint(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(headers.map((text) => ({ text, paint: palette.bold }))), ...cells.map(line)].join('\n') + '\n';
}

export function paintStatus(status: string | null, palette: Palette): (text: string) => string {
  switch (status) {
    case 'failed':
      return palette.red;
    case 'completed':
    case 'offboarded':
    case 'reactivated':
      return palette.green;
    case 'cancelled':
      return palette.dim;
    default:
      return plain;
  }
}

/** The longest reason the table shows; the rest is in `onboarding show` (and `--json`). */
const REASON_WIDTH = 80;

export function renderOnboardingTable(items: OnboardingListItem[], now: Date, palette: Palette): string {
  const rows = items.map((item) => [
    // Each row's own id (an offboarding's is offboarding-…): what `onboarding show` takes.
    item.id ?? item.workflowId,
    item.kind,
    item.clientId ?? '-',
    item.domain ?? '-',
    { text: item.status ?? '-', paint: paintStatus(item.status, palette) },
    { text: item.needsAttention ? '⚠' : '', paint: palette.yellow },
    item.workflowStatus,
    formatTimestamp(item.startedAt),
    item.startedAt ? formatDuration(now.getTime() - Date.parse(item.startedAt)) : '-',
    clip((item.reason ?? (item.needsAttention ? 'needs attention' : '-')).split('\n')[0]!, REASON_WIDTH),
  ]);
  return renderTable(['ID', 'KIND', 'CLIENT', 'DOMAIN', 'STATUS', 'ATTENTION', 'WORKFLOW', 'STARTED', 'AGE', 'REASON'], rows, palette);
}

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** `netlify` → Netlify; the mail server and the vault by their names. */
function ownerLabel(owner: string): string {
  if (isPlatformName(owner)) return platformOf(owner).label;
  return owner === 'mail' ? 'mail server' : owner;
}

function lastErrorLine(error: LastErrorView, now: Date): string {
  const next = error.nextAttemptAt ? `next attempt ${formatRelative(error.nextAttemptAt, now)}` : 'an attempt is running';
  return `${ownerLabel(error.platform)}: ${error.message} (${error.activity}, attempt ${error.attempt}, ${next})`;
}

/** `onboarding show`: what an operator needs to decide what to do next, top to bottom. */
export function renderOnboarding(view: OnboardingView, now: Date, palette: Palette): string {
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${palette.bold(label.padEnd(16))}${value}`);

  const running = view.workflowStatus === 'RUNNING';
  const waiting = running && view.status === 'awaiting-dns';
  lines.push(palette.bold(view.onboardingId));
  field('client', `${view.clientId ?? '-'}  ${view.domain ?? ''}`.trimEnd());
  field('plan', (view.services ?? ['nextnet']).map((name) => platformOf(name).label).join(' + '));
  field('status', `${paintStatus(view.status, palette)(view.status)}  (workflow ${view.workflowStatus})`);
  field('started', `${formatTimestamp(view.startedAt)} (${formatRelative(view.startedAt, now)})`);
  field('updated', `${formatTimestamp(view.updatedAt)} (${formatRelative(view.updatedAt, now)})`);
  if (view.previousRun) field('previous run', `${view.previousRun.runId} (the client was offboarded ${formatTimestamp(view.previousRun.offboardedAt)}, then signed again)`);

  if (view.needsAttention) {
    field('needs attention', palette.yellow(`⚠ ${view.needsAttention.reason}`) + ` (since ${formatTimestamp(view.needsAttention.since)})`);
    for (const item of view.needsAttention.items ?? []) lines.push(`${' '.repeat(16)}- ${item.code}: ${item.reason} (since ${formatTimestamp(item.since)})`);
  } else {
    field('needs attention', 'no');
  }
  field('failure', view.failure ? palette.red(`${view.failure.reason}`) + ` (${view.failure.type}, ${formatTimestamp(view.failure.at)})` : 'none');
  if (view.failure && view.closesAt && running) {
    field('closes', `${formatTimestamp(view.closesAt)} (${formatRelative(view.closesAt, now)}) as failed, unless retried or cancelled before`);
  }
  // Calls Temporal keeps retrying: each one's last failure, so nobody has to open the pending activity in the UI.
  const lastErrors = view.lastErrors ?? (view.lastError ? [view.lastError] : []);
  if (lastErrors.length > 0) {
    field('last error', palette.yellow(lastErrorLine(lastErrors[0]!, now)));
    for (const error of lastErrors.slice(1)) lines.push(`${' '.repeat(16)}${palette.yellow(lastErrorLine(error, now))}`);
  }

  lines.push('', palette.bold('steps'));
  const stepRows = (view.steps ?? []).map((step) => [
    step.name,
    { text: step.state, paint: step.state === 'failed' ? palette.red : step.state === 'needs-attention' ? palette.yellow : step.state === 'done' ? palette.green : plain },
    formatTimestamp(step.startedAt),
    formatTimestamp(step.finishedAt),
    step.detail ?? '',
  ]);
  lines.push(indent(renderTable(['STEP', 'STATE', 'STARTED', 'FINISHED', 'DETAIL'], stepRows, palette)));

  if (view.registration) {
    const registration = view.registration;
    field('registration', `domain id ${registration.domainId}, WordPress key ${registration.wordpressKey}${registration.foundExisting ? ' (found an earlier registration)' : ''}`);
  }
  if (view.netlify) {
    const { site, tls, userId } = view.netlify;
    field('netlify', [userId ? `user ${userId}` : 'no user yet', site ? `site ${site.name} (${site.sslUrl ?? site.url})` : 'no site yet', tls ? `certificate ${tls.state}` : undefined].filter(Boolean).join(' · '));
  }
  const dns = view.dns;
  if (dns) {
    const parts = [
      `verification ${dns.verificationStatus ?? 'not checked yet'}`,
      `${dns.checks} check${dns.checks === 1 ? '' : 's'}`,
      dns.verifiedAt ? `verified ${formatTimestamp(dns.verifiedAt)}` : undefined,
      dns.lastCheckedAt ? `last checked ${formatRelative(dns.lastCheckedAt, now)}` : undefined,
      // A cancelled or finished onboarding checks nothing any more.
      dns.nextCheckAt && !dns.verifiedAt && waiting ? `next check ${formatRelative(dns.nextCheckAt, now)}` : undefined,
      dns.deadlineAt && !dns.verifiedAt && waiting ? `deadline ${formatTimestamp(dns.deadlineAt)} (${formatRelative(dns.deadlineAt, now)})` : undefined,
    ];
    field('dns', parts.filter(Boolean).join(' · '));
    // The engine's own look at the client's records: what each is, and what to change.
    for (const record of dns.records ?? []) {
      const mark = record.ok ? palette.green('✓') : palette.red('✗');
      lines.push(`${' '.repeat(16)}${mark} ${record.name} ${record.type} ${record.found.join(', ') || '(none)'}${record.fix ? ` — ${record.fix}` : ''}`);
    }
  }
  field('signup email', view.signupEmail ? `sent ${formatTimestamp(view.signupEmail.sentAt)} (message ${view.signupEmail.messageId})` : 'not sent yet');
  if (view.offboarding) field('offboarding', describeClientOffboarding(view.offboarding, now));

  if (view.changes && view.changes.length > 0) {
    lines.push('', palette.bold('changes'));
    for (const change of view.changes) {
      const what = change.kind === 'cancel' ? `cancelled at ${change.resumesAt ?? '-'}` : 'retried';
      lines.push(`  ${formatTimestamp(change.at)}  ${what} by ${change.by}${change.reason ? `: ${change.reason}` : ''}${describeChangedFields(change.fields)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The client's offboarding in one line of `onboarding show`: churned, removal due or done, secrets. */
function describeClientOffboarding(offboarding: ClientOffboardingView, now: Date): string {
  const parts = [`${offboarding.offboardingId} (${offboarding.status})`, `churned ${formatTimestamp(offboarding.churnedAt)}`];
  if (offboarding.status === 'reactivated') parts.push(`reactivated ${formatTimestamp(offboarding.reactivatedAt)}: nothing removed`);
  else if (offboarding.status === 'grace-period') parts.push(`removal due ${formatTimestamp(offboarding.removeAfter)} (${formatRelative(offboarding.removeAfter, now)})`);
  else {
    parts.push(`domain ${removalText(offboarding.removal)}`);
    if (offboarding.siteRemoval) parts.push(`Netlify site ${offboarding.siteRemoval === 'removed' ? 'deleted' : 'already gone'}`);
    parts.push(offboarding.secretsRevoked ? `secrets revoked` : 'secrets not revoked yet');
    if (offboarding.offboardedAt) parts.push(`offboarded ${formatTimestamp(offboarding.offboardedAt)}`);
  }
  return parts.join(' · ');
}

function removalText(removal: ClientOffboardingView['removal']): string {
  switch (removal) {
    case 'removed':
      return 'removed from NextNet';
    case 'already-gone':
      return 'already gone at NextNet';
    case 'nothing-registered':
      return 'never registered at NextNet';
    default:
      return 'not removed yet';
  }
}

/** `onboarding show offboarding-…`: a churned client's offboarding, top to bottom. */
export function renderOffboarding(view: OffboardingView, now: Date, palette: Palette): string {
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${palette.bold(label.padEnd(16))}${value}`);
  const when = (iso: string | null) => (iso ? `${formatTimestamp(iso)} (${formatRelative(iso, now)})` : '-');

  lines.push(palette.bold(view.workflowId));
  field('client', `${view.clientId}  ${view.domain ?? ''}`.trimEnd());
  field('onboarding', `${view.onboardingId}${view.onboardingCancelled ? ' (still running at the churn: cancelled)' : ''}`);
  field('status', `${paintStatus(view.status, palette)(view.status)}  (workflow ${view.workflowStatus})`);
  field('churned', when(view.churnedAt));
  if (view.status === 'reactivated') {
    field('reactivated', `${when(view.reactivatedAt)}: the domain, the site and the secrets stay`);
  } else {
    field('removal due', view.status === 'grace-period' ? `${when(view.removeAfter)}; a client.reactivated before then keeps everything` : when(view.removeAfter));
    field('domain', removalText(view.removal));
    field('site', view.siteRemoval === 'removed' ? 'deleted at Netlify' : view.siteRemoval === 'already-gone' ? 'already gone at Netlify' : view.status === 'offboarded' ? 'none' : 'not removed yet');
    field('secrets', view.secretsRevoked ? `revoked${view.offboardedAt ? ` ${when(view.offboardedAt)}` : ''}` : 'not revoked yet');
  }
  field('updated', when(view.updatedAt));
  return lines.join('\n') + '\n';
}

/** The API records either field names or `{ field: { from, to } }`; both read as one line. */
function describeChangedFields(fields: unknown): string {
  if (Array.isArray(fields)) return fields.length ? ` (changed ${fields.join(', ')})` : '';
  if (typeof fields !== 'object' || fields === null) return '';
  const entries = Object.entries(fields as Record<string, unknown>).map(([name, value]) => {
    const { from, to } = (value ?? {}) as { from?: unknown; to?: unknown };
    return from !== undefined || to !== undefined ? `${name} ${String(from ?? '-')} → ${String(to ?? '-')}` : name;
  });
  return entries.length ? ` (changed ${entries.join(', ')})` : '';
}

/** `onboarding sites`: one row per site of the reseller account, then the orphans on either side. */
export function renderResellerSites(view: ResellerSitesView, palette: Palette): string {
  const lines: string[] = [];
  if (view.sites.length === 0) {
    lines.push('The reseller account has no sites.');
  } else {
    const rows = view.sites.map((site) => [
      site.name ?? site.id,
      site.customDomain ?? '-',
      site.onboarding ? site.onboarding.onboardingId : { text: 'ORPHAN', paint: palette.yellow },
      { text: sslOf(site), paint: site.ssl ? plain : palette.yellow },
    ]);
    lines.push(renderTable(['SITE', 'DOMAIN', 'ONBOARDING', 'SSL'], rows, palette).trimEnd());
  }

  const { sitesWithoutOnboarding, onboardingsWithoutSite, unchecked } = view.orphans;
  lines.push('', palette.bold(`Sites without an onboarding (${sitesWithoutOnboarding.length})`));
  if (sitesWithoutOnboarding.length === 0) lines.push('  none');
  else lines.push(indent(renderTable(['SITE', 'DOMAIN', 'URL'], sitesWithoutOnboarding.map((site) => [site.name ?? site.id, site.customDomain ?? '-', site.url ?? '-']), palette)));

  lines.push('', palette.bold(`Onboardings whose site is gone (${onboardingsWithoutSite.length})`));
  if (onboardingsWithoutSite.length === 0) lines.push('  none');
  else {
    const rows = onboardingsWithoutSite.map((o) => [o.onboardingId, o.domain ?? '-', { text: o.status ?? '-', paint: paintStatus(o.status, palette) }, `${o.site.name} (${o.site.id})`]);
    lines.push(indent(renderTable(['ONBOARDING', 'DOMAIN', 'STATUS', 'MISSING SITE'], rows, palette)));
  }

  if (unchecked.length > 0) {
    lines.push('', palette.yellow(`Not checked for a lost site (${unchecked.length})`));
    for (const item of unchecked) lines.push(`  ${item.onboardingId}  ${item.domain ?? '-'}  ${item.reason}`);
  }
  return lines.join('\n') + '\n';
}

function sslOf(site: ResellerSitesView['sites'][number]): string {
  if (site.sslStatus) return site.sslStatus;
  if (!site.ssl) return 'none';
  return site.forceSsl ? 'https (forced)' : 'https';
}

/** `onboarding submissions`: newest first, each with the client it came from. */
export function renderSubmissions(view: ResellerSubmissionsView, palette: Palette): string {
  if (view.submissions.length === 0) return `No form submissions since ${formatTimestamp(view.since)}.\n`;
  const rows = view.submissions.map((submission) => [
    formatTimestamp(submission.createdAt),
    submission.host ?? '-',
    submission.client ? submission.client.onboardingId : { text: 'no onboarding', paint: palette.yellow },
    submission.client?.clientId ?? '-',
    submission.formName ?? '-',
    [submission.name, submission.email ? `<${submission.email}>` : null].filter(Boolean).join(' ') || '-',
  ]);
  const count = view.submissions.length;
  return `${renderTable(['RECEIVED', 'SITE', 'ONBOARDING', 'CLIENT', 'FORM', 'FROM'], rows, palette)}${count} submission${count === 1 ? '' : 's'} since ${formatTimestamp(view.since)}.\n`;
}

/** The longest purpose the audit table shows; the rest is in `--json`. */
const PURPOSE_WIDTH = 60;

/** `onboarding audit`: the vault's audit trail, oldest first; failures and refusals stand out. */
export function renderAuditTable(items: SecretAuditEntryView[], palette: Palette): string {
  const rows = items.map((entry) => [
    formatTimestamp(entry.at),
    entry.onboardingId,
    entry.secretName,
    entry.action,
    { text: entry.outcome, paint: paintAuditOutcome(entry.outcome, palette) },
    entry.actor,
    clip(entry.purpose ?? '-', PURPOSE_WIDTH),
  ]);
  return renderTable(['AT', 'ONBOARDING', 'SECRET', 'ACTION', 'OUTCOME', 'ACTOR', 'PURPOSE'], rows, palette);
}

function paintAuditOutcome(outcome: string, palette: Palette): (text: string) => string {
  if (outcome === 'unreadable' || outcome === 'refused-revoked') return palette.red;
  if (outcome === 'not-found' || outcome === 'revoked' || outcome === 'already-revoked') return palette.yellow;
  return plain;
}

/** `onboarding reseller check`: ✓ or ✗ per check, and for each failure what to do. */
export function renderResellerCheck(view: ResellerCheckView, palette: Palette): string {
  const lines: string[] = [];
  for (const item of view.items) {
    const mark = item.ok ? palette.green('✓') : item.transient ? palette.yellow('✗') : palette.red('✗');
    lines.push(`${mark} ${palette.bold(item.check)}: ${item.detail}`);
    if (!item.ok && item.fix) lines.push(`    fix: ${item.fix}`);
  }
  const failing = view.items.filter((item) => !item.ok).length;
  lines.push(
    '',
    failing === 0
      ? palette.green(`All ${view.items.length} checks pass.`)
      : palette.red(`${failing} of ${view.items.length} check${view.items.length === 1 ? '' : 's'} failed`) + '; fix them and run `onboarding reseller check` again.',
  );
  return lines.join('\n') + '\n';
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
