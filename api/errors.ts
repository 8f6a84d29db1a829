import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';

export interface FieldProblem {
  field: string;
  message: string;
}

/** An error whose HTTP status and public message are known where it is thrown. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldProblem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
}

/** Every error becomes one JSON shape: `{ error: { code, message, fields? } }`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known = toHttpError(err);
    if (known.status >= 500 && known.status !== 503) logger.error({ err, method: req.method, path: req.path }, 'request failed');
    for (const [name, value] of Object.entries(known.headers)) res.setHeader(name, value);
    res.status(known.status).json({ error: { code: known.code, message: known.message, ...(known.fields ? { fields: known.fields } : {}) } });
  };
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const type = (err as { type?: string } | null)?.type;
  // body-parser's own errors carry a `type`; translate the ones a client can cause.
  if (type === 'entity.too.large') return new HttpError(413, 'payload_too_large', `request body is larger than ${(err as { limit?: number }).limit ?? 'the'} bytes allowed`);
  if (type === 'entity.parse.failed') return new HttpError(400, 'malformed_json', 'request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new HttpError(415, 'unsupported_encoding', 'request body encoding is not supported; send UTF-8 JSON');
  // Any other client error body-parser reports (a gzip body that does not inflate, a length that does not match).
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'unreadable_body', `the request body could not be read (${(err as Error).message}); send plain or correctly compressed UTF-8 JSON`);
  }
  return new HttpError(500, 'internal_error', 'something went wrong on our side; it has been logged');
}
