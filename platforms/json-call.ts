/**
 * One JSON call to a platform or CRM API, as every client here makes it: a timeout, never a redirect followed (it
 * would carry the credential wherever it points), a failed answer classified with its secrets taken out, and the
 * body parsed as JSON. The clients add their credential headers, their error-body reading and their shapes.
 */
import type { z } from 'zod';
import { describeNetworkError, errorForAnswer, ResellerApiError, type ErrorAnswerHints } from './api-errors.js';

export interface JsonCall {
  /** "NextNet GET /domains": how messages name the call. */
  what: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  fetch: typeof fetch;
  /** What a redirect would have carried ("API key", "token") and the setting to check ("RESELLER_API_URL"). */
  credential: string;
  urlSetting: string;
  /** Statuses answered as results rather than errors. */
  accept?: number[];
  /** The answer's body as one short line, without secrets: the reason in a failure's message. */
  describeError(text: string): string;
  hints: ErrorAnswerHints;
}

export interface JsonAnswer {
  status: number;
  /** The body as JSON; undefined when empty. */
  json: unknown;
}

export async function callJson(call: JsonCall): Promise<JsonAnswer> {
  const { what } = call;
  let response: Response;
  try {
    response = await call.fetch(call.url, {
      method: call.method,
      headers: { ...call.headers, Accept: 'application/json', ...(call.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: AbortSignal.timeout(call.timeoutMs),
      redirect: 'manual',
    });
  } catch (err) {
    throw new ResellerApiError('unavailable', `${what} did not answer: ${describeNetworkError(err)}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    throw new ResellerApiError('unavailable', `${what} answered ${response.status} but the body could not be read: ${describeNetworkError(err)}`, response.status);
  }
  const { status } = response;
  if (status >= 300 && status < 400) {
    throw new ResellerApiError('unexpected', `${what} answered ${status}, a redirect (to ${redirectTarget(response)}); not followed, so the ${call.credential} stays here: check ${call.urlSetting}`, status);
  }
  if (!response.ok && !(call.accept ?? []).includes(status)) {
    const reason = call.describeError(text);
    throw errorForAnswer(`${what} answered ${status}${reason ? `: ${reason}` : ''}`, response, call.hints);
  }
  let json: unknown = undefined;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ResellerApiError('unexpected', `${what} answered ${status} with a body that is not JSON`, status);
    }
  }
  return { status, json };
}

/** The answer's JSON in the shape the caller expects; a shape error names field paths only (the body may hold a key). */
export function answerOfShape<T extends z.ZodType>(what: string, answer: JsonAnswer, schema: T): z.output<T> {
  const parsed = schema.safeParse(answer.json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new ResellerApiError('unexpected', `${what} answered ${answer.status} with an unexpected shape (fields: ${fields})`, answer.status);
  }
  return parsed.data;
}

/** Where a redirect points, as scheme and host only (its path or query could carry anything). */
function redirectTarget(response: Response): string {
  try {
    return new URL(response.headers.get('location') ?? '', response.url || 'http://unknown').origin;
  } catch {
    return 'an unreadable location';
  }
}
