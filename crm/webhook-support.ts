/**
 * What the CRM webhook modules (`crm/<source>/webhook.ts`) share: the raw delivery, reading one of its headers, and
 * comparing secrets in constant time. (A website's bare domain: `domainOfWebsite` in crm/details.ts.)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A delivery as the intake received it: the exact bytes, before any JSON parsing. */
export interface RawDelivery {
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

/** One value of a header (the first, when a proxy repeated it); undefined when absent or blank. */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

/** Compares digests, so the comparison takes the same time whatever the lengths and contents. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}


/**
 * A base64 signature as it arrived in a header, with the pitfall undone: a `+` that a hop turned into a space. A
 * leading one is lost altogether (HTTP trims a value's spaces), which leaves base64 one character short of its blocks of 4.
 */
export function base64Signature(value: string): string {
  const restored = value.replace(/ /g, '+');
  return restored.length % 4 === 3 ? `+${restored}` : restored;
}
