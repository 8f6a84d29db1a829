/**
 * The codec server of the Temporal Web UI (and of `temporal --codec-endpoint`): `POST /codec/decode` and
 * `/codec/encode` run payloads through the same codec as the API's Temporal client (config/payload-codec.ts), so ops
 * read the client data that Temporal stores encrypted. Only for holders of the ops token: as a bearer token (the
 * CLI), or as the session cookie that `/codec/login` hands out once the token is pasted there (the UI calls from the
 * browser with "include cross-origin credentials" and has no token of its own to pass).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { escapeHtml } from '../activities/signup-email.js';
import { PayloadDecryptionError, UnknownPayloadKeyError } from '../config/payload-codec.js';
import { HttpError } from './errors.js';
import { bearerOf, opsTokenCheck } from './ops-token.js';
import { validated } from './request-schemas.js';

export const CODEC_SESSION_COOKIE = 'codec_session';
const SESSION_SECONDS = 12 * 3600;
// The UI sends many payloads at once (a whole history's); Temporal's own limit is 2 MiB a payload.
const CODEC_BODY_LIMIT = '16mb';

// Proto3 JSON: bytes are base64 (standard or URL-safe), each metadata value too.
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
/** The codec server protocol's body, both ways: `{payloads: [{metadata: {key: base64}, data: base64}]}`. */
export const CodecPayloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), Base64).default({}), data: Base64.default('') })),
});

export interface CodecServerOptions {
  /** The payload codecs of the API's Temporal client: one data converter for the engine and its codec server. */
  codecs: readonly PayloadCodec[];
  opsApiToken: string;
  /** The Temporal Web UI (TEMPORAL_UI_URL); its origin alone may call from a browser. Unset: bearer token callers only. */
  uiUrl: string | undefined;
}

export function createCodecRouter(options: CodecServerOptions): express.Router {
  const isOpsToken = opsTokenCheck(options.opsApiToken);
  const sessions = codecSessions(options.opsApiToken);
  const uiOrigin = options.uiUrl ? new URL(options.uiUrl).origin : undefined;
  const router = express.Router();

  // CORS for the UI's origin, exactly; with credentials, so the login cookie goes along.
  router.use((req, res, next) => {
    const origin = req.get('origin');
    if (origin !== undefined && origin === uiOrigin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    res.vary('Origin');
    if (req.method !== 'OPTIONS') return next();
    if (origin !== undefined && origin !== uiOrigin) throw foreignOrigin(origin, uiOrigin);
    res.setHeader('Access-Control-Allow-Methods', 'POST');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization, Authorization-Extras');
    res.setHeader('Access-Control-Max-Age', '600');
    res.setHeader('Allow', 'POST');
    res.status(204).end();
  });

  const opsOnly: RequestHandler = (req, _res, next) => {
    const origin = req.get('origin');
    // A browser page of any other site may not use an ops member's cookie, even blindly.
    if (origin !== undefined && origin !== uiOrigin && origin !== ownOrigin(req)) throw foreignOrigin(origin, uiOrigin);
    if (isOpsToken(bearerOf(req)) || sessions.isValid(cookieOf(req, CODEC_SESSION_COOKIE))) return next();
    throw new HttpError(
      401,
      'unauthorized',
      `decrypting client data needs the ops token: log in once at ${codecUrl(req)}/login (the Temporal UI then sends its cookie when its codec setting ` +
        `"Include cross-origin credentials" is on), or send "Authorization: Bearer <OPS_API_TOKEN>"`,
      undefined,
      { 'WWW-Authenticate': 'Bearer' },
    );
  };

  const runCodec = (direction: 'decode' | 'encode'): RequestHandler[] => [
    opsOnly,
    express.json({ limit: CODEC_BODY_LIMIT, type: () => true }),
    validated({ body: CodecPayloads }, { code: 'invalid_payloads', message: 'the body is not {"payloads": [{"metadata": {...}, "data": "<base64>"}]}' }, async ({ body }, _req, res) => {
      let payloads: Payload[] = body.payloads.map(fromJson);
      try {
        // Encode runs the codecs in order and decode in reverse, as the SDK does.
        for (const codec of direction === 'encode' ? options.codecs : [...options.codecs].reverse()) payloads = await codec[direction](payloads);
      } catch (err) {
        // These name the key id, never a key; anything else stays a logged 500 without details.
        if (err instanceof UnknownPayloadKeyError || err instanceof PayloadDecryptionError) throw new HttpError(422, 'undecodable_payload', err.message);
        throw err;
      }
      res.setHeader('Cache-Control', 'no-store');
      res.json({ payloads: payloads.map(toJson) });
    }),
  ];
  router.post('/decode', ...runCodec('decode'));
  router.post('/encode', ...runCodec('encode'));

  router.get('/login', (req, res) => {
    const session = sessions.expiry(cookieOf(req, CODEC_SESSION_COOKIE));
    const failed = req.query.failed !== undefined;
    sendPage(res, loginPage({ codecUrl: codecUrl(req), uiUrl: options.uiUrl, loggedInUntil: session, failed }));
  });

  router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const origin = req.get('origin');
    // The form is ours: a login posted from another site is refused.
    if (origin !== undefined && origin !== 'null' && origin !== ownOrigin(req)) throw foreignOrigin(origin, ownOrigin(req));
    const token: unknown = (req.body as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || !isOpsToken(token)) {
      res.redirect(303, `${req.baseUrl}/login?failed=1`);
      return;
    }
    const crossSite = req.secure;
    res.append(
      'Set-Cookie',
      [
        `${CODEC_SESSION_COOKIE}=${sessions.issue()}`,
        `Path=${req.baseUrl || '/'}`,
        `Max-Age=${SESSION_SECONDS}`,
        'HttpOnly',
        // Over HTTPS the UI may be another site: SameSite=None (Secure). Over plain HTTP (development, UI and API on
        // 127.0.0.1) browsers refuse None without Secure, and the UI is the same site anyway: Lax.
        crossSite ? 'Secure; SameSite=None' : 'SameSite=Lax',
      ].join('; '),
    );
    res.redirect(303, `${req.baseUrl}/login`);
  });

  return router;
}

/**
 * The login cookie: an expiry and its HMAC under the ops token, so the cookie is not the token itself (it opens the
 * codec endpoint only, and only until it expires) and a new OPS_API_TOKEN ends every session.
 */
function codecSessions(opsApiToken: string) {
  const mac = (expires: string) => createHmac('sha256', opsApiToken).update(`codec-session.${expires}`).digest('base64url');
  const expiry = (cookie: string | undefined): Date | undefined => {
    const [expires, given] = (cookie ?? '').split('.');
    if (!expires || !given || !/^\d+$/.test(expires) || Number(expires) <= Date.now()) return undefined;
    const expected = Buffer.from(mac(expires));
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected) ? new Date(Number(expires)) : undefined;
  };
  return {
    issue: () => {
      const expires = String(Date.now() + SESSION_SECONDS * 1000);
      return `${expires}.${mac(expires)}`;
    },
    expiry,
    isValid: (cookie: string | undefined) => expiry(cookie) !== undefined,
  };
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const ownOrigin = (req: Request) => `${req.protocol}://${req.get('host') ?? ''}`;
const codecUrl = (req: Request) => `${ownOrigin(req)}${req.baseUrl}`;

function foreignOrigin(origin: string, allowed: string | undefined): HttpError {
  return new HttpError(
    403,
    'origin_not_allowed',
    `${origin} may not call the codec endpoint; only the Temporal UI may (${allowed ? `TEMPORAL_UI_URL, ${allowed}` : 'set TEMPORAL_UI_URL to its URL'})`,
  );
}

const fromJson = (payload: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  data: Buffer.from(payload.data, 'base64'),
});

const toJson = (payload: Payload) => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});

function sendPage(res: Response, html: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.type('html').send(html);
}

function loginPage(page: { codecUrl: string; uiUrl: string | undefined; loggedInUntil: Date | undefined; failed: boolean }): string {
  const state = page.loggedInUntil
    ? `<p class="ok">This browser may decrypt until ${escapeHtml(page.loggedInUntil.toISOString())}. Log in again to extend it.</p>`
    : page.failed
      ? '<p class="bad">That is not the ops token.</p>'
      : '';
  const ui = page.uiUrl ? `<a href="${escapeHtml(page.uiUrl)}">the Temporal UI</a>` : 'the Temporal UI';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Decrypt client data in the Temporal UI</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}.ok{color:#176117}.bad{color:#a31515}input{font:inherit;width:20rem}</style></head>
<body><h1>Decrypt client data in the Temporal UI</h1>
<p>Temporal keeps clients' data encrypted. Paste the ops token (<code>OPS_API_TOKEN</code>) once: this browser then gets a cookie that lets
${ui} decrypt through this codec server for 12 hours.</p>
${state}
<form method="post" action=""><label>Ops token <input type="password" name="token" autocomplete="current-password" required autofocus></label> <button>Log in</button></form>
<h2>Once per browser, in the Temporal UI</h2>
<p>Open the Codec Server settings (the glasses button at the top right), choose
<em>Use my browser setting and ignore Cluster-level setting</em>, paste <code>${escapeHtml(page.codecUrl)}</code> as the browser endpoint,
switch on <em>Include cross-origin credentials</em> and Apply. (A UI whose server already sends credentials, such as the production
<code>temporal-ui</code>, needs none of this.)</p>
<p>From a terminal: <code>temporal workflow show --codec-endpoint ${escapeHtml(page.codecUrl)} --codec-auth "Bearer $OPS_API_TOKEN" ...</code></p>
</body></html>
`;
}
