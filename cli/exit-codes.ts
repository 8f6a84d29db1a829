/** What the CLI's exit status means; shown in `--help` and cli/README.md so scripts can branch on it. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  unreachable: 5,
  unauthorized: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0  ok
  1  the operation failed (some bulk retries failed, a reseller check failed, the API answered 5xx)
  2  usage error (a bad command or option, or corrections the API rejected with 400)
  3  not found (404: no such onboarding, no stored secret; 410: the secret was revoked)
  4  refused (409: e.g. not retryable, not running)
  5  API unreachable (connection refused, timeout, or 503 when the API cannot reach Temporal or Netlify)
  6  unauthorized (401: wrong or missing token)`;
