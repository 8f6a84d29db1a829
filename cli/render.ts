import type { OnboardingListItem, OnboardingView } from './ops-api.js';
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
      return palette.green;
    case 'cancelled':
      return palette.dim;
    default:
      return plain;
  }
}

export function renderOnboardingTable(items: OnboardingListItem[], now: Date, palette: Palette): string {
  const rows = items.map((item) => [
    item.onboardingId,
    item.clientId ?? '-',
    item.domain ?? '-',
    { text: item.status ?? '-', paint: paintStatus(item.status, palette) },
    { text: item.needsAttention ? '⚠' : '', paint: palette.yellow },
    item.workflowStatus,
    formatTimestamp(item.startedAt),
    item.startedAt ? formatDuration(now.getTime() - Date.parse(item.startedAt)) : '-',
  ]);
  return renderTable(['ID', 'CLIENT', 'DOMAIN', 'STATUS', 'ATTENTION', 'WORKFLOW', 'STARTED', 'AGE'], rows, palette);
}

/** `onboarding show`: what an operator needs to decide what to do next, top to bottom. */
export function renderOnboarding(view: OnboardingView, now: Date, palette: Palette): string {
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${palette.bold(label.padEnd(16))}${value}`);

  lines.push(palette.bold(view.onboardingId));
  field('client', `${view.clientId ?? '-'}  ${view.domain ?? ''}`.trimEnd());
  field('status', `${paintStatus(view.status, palette)(view.status)}  (workflow ${view.workflowStatus})`);
  field('started', `${formatTimestamp(view.startedAt)} (${formatRelative(view.startedAt, now)})`);
  field('updated', `${formatTimestamp(view.updatedAt)} (${formatRelative(view.updatedAt, now)})`);

  if (view.needsAttention) {
    field('needs attention', palette.yellow(`⚠ ${view.needsAttention.reason}`) + ` (since ${formatTimestamp(view.needsAttention.since)})`);
    for (const item of view.needsAttention.items ?? []) lines.push(`${' '.repeat(16)}- ${item.code}: ${item.reason} (since ${formatTimestamp(item.since)})`);
  } else {
    field('needs attention', 'no');
  }
  field('failure', view.failure ? palette.red(`${view.failure.reason}`) + ` (${view.failure.type}, ${formatTimestamp(view.failure.at)})` : 'none');

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
  const dns = view.dns;
  if (dns) {
    const parts = [
      `verification ${dns.verificationStatus ?? 'not checked yet'}`,
      `${dns.checks} check${dns.checks === 1 ? '' : 's'}`,
      dns.verifiedAt ? `verified ${formatTimestamp(dns.verifiedAt)}` : undefined,
      dns.lastCheckedAt ? `last checked ${formatRelative(dns.lastCheckedAt, now)}` : undefined,
      dns.nextCheckAt && !dns.verifiedAt ? `next check ${formatRelative(dns.nextCheckAt, now)}` : undefined,
      dns.deadlineAt && !dns.verifiedAt ? `deadline ${formatTimestamp(dns.deadlineAt)} (${formatRelative(dns.deadlineAt, now)})` : undefined,
    ];
    field('dns', parts.filter(Boolean).join(' · '));
  }
  field('signup email', view.signupEmail ? `sent ${formatTimestamp(view.signupEmail.sentAt)} (message ${view.signupEmail.messageId})` : 'not sent yet');

  if (view.changes && view.changes.length > 0) {
    lines.push('', palette.bold('changes'));
    for (const change of view.changes) {
      lines.push(`  ${formatTimestamp(change.at)}  by ${change.by}${change.reason ? `: ${change.reason}` : ''}${describeChangedFields(change.fields)}`);
    }
  }
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

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
