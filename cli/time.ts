const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * `--failed-since`: an ISO date or date-time (`2026-11-20`, `2026-11-20T08:00:00Z`), or a span back from now
 * (`30m`, `24h`, `7d`, `2w`). Undefined when the text is neither.
 */
export function parseSince(text: string, now: Date): Date | undefined {
  const relative = /^(\d+)\s*([smhdw])$/i.exec(text.trim());
  if (relative) {
    const unit = relative[2]!.toLowerCase() as keyof typeof UNIT_MS;
    return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[unit]);
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const at = Date.parse(text.trim());
  return Number.isNaN(at) ? undefined : new Date(at);
}

/** `2026-11-22 10:04 UTC`: minutes are enough to find a workflow in the Temporal UI, and UTC matches its history. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return '-';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A span in the two largest units that matter: `45s`, `12m`, `5h 12m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1_000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours}h ${minutes % 60}m` : `${hours}h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days}d ${hours % 24}h` : `${days}d`;
}

/** `5m ago` or `in 3h`, from now. */
export function formatRelative(iso: string | null | undefined, now: Date): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const delta = at - now.getTime();
  return delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}
