import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { fieldProblems, HttpError } from './errors.js';

/** The zod schemas a route checks its request against; the OpenAPI document describes the route with these same schemas. */
export interface RequestSchemas {
  query?: z.ZodType;
  body?: z.ZodType;
  /** A body that depends on a path parameter (`POST /webhooks/:source`: each CRM its own): one schema per value, one documented path each. */
  bodyByParam?: { param: string; bodies: Record<string, z.ZodType> };
}

type Checked = Pick<RequestSchemas, 'query' | 'body'>;
type Parsed<S extends Checked> = { [Part in keyof S]: S[Part] extends z.ZodType ? z.output<S[Part]> : never };

const SCHEMAS = Symbol('request schemas');

/**
 * A route handler that is given its request's query and body as their zod schemas parse them (a 400 `invalid.code`
 * naming each bad field otherwise), and that carries those schemas for the OpenAPI document (`expressRoutes`).
 */
export function validated<S extends Checked>(
  schemas: S,
  invalid: { code: string; message: string },
  handler: (input: Parsed<S>, req: Request, res: Response) => Promise<void> | void,
): RequestHandler {
  const checked: RequestHandler = async (req, res) => {
    const input: Record<string, unknown> = {};
    for (const [part, schema] of Object.entries(schemas) as [keyof Checked, z.ZodType][]) {
      // An absent body is an empty object: the ops requests whose fields are all optional may be sent without one.
      const parsed = schema.safeParse(part === 'body' ? (req.body ?? {}) : req.query);
      if (!parsed.success) throw new HttpError(400, invalid.code, invalid.message, fieldProblems(parsed.error));
      input[part] = parsed.data;
    }
    await handler(input as Parsed<S>, req, res);
  };
  return Object.assign(checked, { [SCHEMAS]: schemas });
}

/**
 * For a handler that checks its request with these schemas itself, because `validated` cannot (a signature is verified
 * over the raw body first, or the schema depends on a path parameter): shows them to the OpenAPI document.
 */
export function checksRequestWith<H extends RequestHandler>(schemas: RequestSchemas, handler: H): H {
  return Object.assign(handler, { [SCHEMAS]: schemas });
}

/** The schemas `validated` or `checksRequestWith` gave a handler, if any. */
export function requestSchemasOf(handler: unknown): RequestSchemas | undefined {
  return typeof handler === 'function' ? (handler as { [SCHEMAS]?: RequestSchemas })[SCHEMAS] : undefined;
}
