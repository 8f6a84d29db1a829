import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors.js';

/**
 * Whether a given token is OPS_API_TOKEN. Comparing digests keeps the comparison constant-time whatever the token's
 * length. Every way in that takes the ops token (`/v1`'s bearer token, the codec endpoint and its login) uses this.
 */
export function opsTokenCheck(expected: string): (given: string | undefined) => boolean {
  const expectedDigest = createHash('sha256').update(expected).digest();
  return (given) => given !== undefined && timingSafeEqual(createHash('sha256').update(given.trim()).digest(), expectedDigest);
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerOf(req: Request): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
}

/** Everything under /v1: `Authorization: Bearer <OPS_API_TOKEN>`, else 401. */
export function bearerToken(expected: string): RequestHandler {
  const isOpsToken = opsTokenCheck(expected);
  return (req, _res, next) => {
    if (!isOpsToken(bearerOf(req))) {
      next(new HttpError(401, 'unauthorized', 'missing or wrong ops token; send "Authorization: Bearer <OPS_API_TOKEN>"', undefined, { 'WWW-Authenticate': 'Bearer' }));
      return;
    }
    next();
  };
}
