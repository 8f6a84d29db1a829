import { maxHeaderSize, STATUS_CODES, type Server } from 'node:http';
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
  return error.issues.flatMap((issue) =>
    // An unknown key is named as the field itself, not as its parent object (which for a query would read "(body)").
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'is not expected here; remove it or check its spelling' }))
      : [{ field: issue.path.join('.') || '(body)', message: issue.message }],
  );
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
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    const { encoding, charset } = err as { encoding?: string; charset?: string };
    const what = type === 'charset.unsupported' ? `charset ${JSON.stringify(charset ?? '')} (Content-Type)` : `Content-Encoding ${JSON.stringify(encoding ?? '')}`;
    return new HttpError(415, 'unsupported_encoding', `the request body's ${what} is not supported; send UTF-8 JSON, plain or compressed with gzip, deflate or br`);
  }
  // The router could not percent-decode a path segment (`%zz`, `%C0%AF`): the path is at fault, not the body.
  if (err instanceof URIError && (err as { status?: unknown }).status === 400) {
    return new HttpError(400, 'malformed_path', `the request path is not valid percent-encoded UTF-8 (${err.message}); encode each path segment with encodeURIComponent`);
  }
  // Any other client error body-parser reports (a gzip body that does not inflate, a length that does not match).
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'unreadable_body', `the request body could not be read (${(err as Error).message}); send plain or correctly compressed UTF-8 JSON`);
  }
  return new HttpError(500, 'internal_error', 'something went wrong on our side; it has been logged');
}

/**
 * Requests Node's HTTP parser refuses before Express sees them (headers over the size limit, a control character in
 * a header) get the same JSON error shape, instead of Node's bare `400 Bad Request` without a body.
 */
export function answerUnreadableRequestsInJson(server: Server): void {
  server.on('clientError', (err: Error & { code?: string; reason?: string; rawPacket?: Buffer }, socket) => {
    // Nothing to answer on a connection that is gone, or one whose response has begun (a bad pipelined request).
    const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || answering) {
      socket.destroy();
      return;
    }
    const error =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new HttpError(431, 'headers_too_large', `the request line and headers are larger than this server reads (${maxHeaderSize / 1024} KiB); shorten the URL or the headers`)
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new HttpError(408, 'request_timeout', 'the request was not received in time; send it again')
          : new HttpError(400, 'malformed_request', `the request is not valid HTTP/1.1 (${err.reason ?? err.code ?? 'unreadable'}); check its request line and headers`);
    const body = JSON.stringify({ error: { code: error.code, message: error.message } });
    // An answer to HEAD has no body; the request line is at the start of the bytes read, when they hold it.
    const head = err.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`);
  });
}
