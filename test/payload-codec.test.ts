/**
 * Clients' emails and names are encrypted in Temporal: the payload codec (keys that rotate, old histories readable),
 * a real onboarding whose history Temporal stores without the email, and the codec server ops decrypt it through.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inspect, promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, DEV_PAYLOAD_KEY, loadConfig, payloadKey, type PayloadKey } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { EncryptionCodec, ENCRYPTED_ENCODING, isEncrypted, KEY_ID_METADATA, payloadDataConverter, PayloadDecryptionError, UnknownPayloadKeyError } from '../config/payload-codec.js';
import { getStatus } from '../workflows/definitions.js';
import { clientCreatedEvent, decodedHistory, deliver, serveApi, startTestStack, TEST_OPS_TOKEN, uniqueClient, type TestStack } from './support.js';

const { temporal } = proto;

const jsonPayload = (value: unknown): Payload => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const newKey = (id: string): PayloadKey => payloadKey(id, randomBytes(32));
/** Every way a key's bytes could be printed. */
const printed = (key: PayloadKey) => [key.key.toString('base64'), key.key.toString('hex'), key.key.toString('base64url')];

describe('the payload codec', () => {
  const client = { email: 'owner@acme-plumbing.test', name: 'Acme Plumbing' };

  it('encrypts a payload under the current key, names that key, and decrypts it back exactly', async () => {
    const key = newKey('2026-01');
    const codec = new EncryptionCodec([key]);
    const [encrypted] = await codec.encode([jsonPayload(client)]);

    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('2026-01');
    expect(text(encrypted!.data)).not.toContain(client.email);
    expect(JSON.stringify(encrypted)).not.toContain('json/plain');
    const [decrypted] = await codec.decode([encrypted!]);
    expect(JSON.parse(text(decrypted!.data))).toEqual(client);
    expect(text(decrypted!.metadata!.encoding)).toBe('json/plain');
    // A fresh IV each time: the same value never encrypts to the same bytes.
    const [again] = await codec.encode([jsonPayload(client)]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encrypted!.data!))).toBe(false);
  });

  it('decrypts a payload encrypted with a retired key after the current key has changed, and encrypts with the new one', async () => {
    const retired = newKey('2025-07');
    const [old] = await new EncryptionCodec([retired]).encode([jsonPayload(client)]);
    const current = newKey('2026-01');
    const rotated = new EncryptionCodec([current, retired]);

    expect(JSON.parse(text((await rotated.decode([old!]))[0]!.data))).toEqual(client);
    const [fresh] = await rotated.encode([jsonPayload(client)]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('2026-01');
  });

  it('refuses a payload of a key it does not hold, naming the key id and never a key', async () => {
    const gone = newKey('2024-01');
    const [old] = await new EncryptionCodec([gone]).encode([jsonPayload(client)]);
    const current = newKey('2026-01');
    const error = await new EncryptionCodec([current]).decode([old!]).then(() => new Error('decoded'), (err: unknown) => err as Error);

    expect(error).toBeInstanceOf(UnknownPayloadKeyError);
    expect(error.message).toContain('"2024-01"');
    expect(error.message).toContain('PAYLOAD_KEYS');
    for (const secret of [...printed(gone), ...printed(current)]) expect(error.message).not.toContain(secret);
  });

  it('refuses a payload that does not open with the key of its id (another key under that id, or tampered)', async () => {
    const [sealed] = await new EncryptionCodec([newKey('k1')]).encode([jsonPayload(client)]);
    const otherKeySameId = newKey('k1');
    await expect(new EncryptionCodec([otherKeySameId]).decode([sealed!])).rejects.toThrow(PayloadDecryptionError);

    const codec = new EncryptionCodec([newKey('k2')]);
    const [good] = await codec.encode([jsonPayload(client)]);
    const tampered = Buffer.from(good!.data!);
    tampered[20]! ^= 1;
    const error = await codec.decode([{ ...good, data: tampered }]).then(() => new Error('decoded'), (err: unknown) => err as Error);
    expect(error).toBeInstanceOf(PayloadDecryptionError);
    expect(error.message).toContain('"k2"');
  });

  it('passes payloads written before encryption through decode unchanged', async () => {
    const plain = [jsonPayload(client), { metadata: { encoding: Buffer.from('binary/null') } }];
    const decoded = await new EncryptionCodec([newKey('k')]).decode(plain);
    expect(decoded).toEqual(plain);
    expect(decoded.some(isEncrypted)).toBe(false);
  });
});

describe('PAYLOAD_KEYS', () => {
  const base64 = () => randomBytes(32).toString('base64');
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('the configuration was accepted');
  };

  it('takes keyId:key pairs, the first encrypting, every one decrypting; hex keys too', () => {
    const [a, b] = [base64(), randomBytes(32).toString('hex')];
    const { payloadKeys } = loadConfig({ PAYLOAD_KEYS: ` 2026-01:${a} , 2025-07:${b}` });
    expect(payloadKeys.map((k) => k.id)).toEqual(['2026-01', '2025-07']);
    expect(payloadKeys[0]!.key.equals(Buffer.from(a, 'base64'))).toBe(true);
    expect(payloadKeys[1]!.key.equals(Buffer.from(b, 'hex'))).toBe(true);
  });

  it('defaults to the public development key outside production', () => {
    expect(loadConfig({}).payloadKeys).toEqual([DEV_PAYLOAD_KEY]);
    expect(DEV_PAYLOAD_KEY.id).toBe('dev');
  });

  it.each([
    ['a key of the wrong length', `k1:${randomBytes(16).toString('base64')}`, 'PAYLOAD_KEYS: the key of "k1" must be 32 bytes as base64 or 64 hex characters'],
    ['a key typed by hand', `k1:${Buffer.alloc(32, 'a').toString('base64')}`, 'PAYLOAD_KEYS: the key of "k1" looks made by hand (too few distinct bytes); generate one with `openssl rand -base64 32`'],
    ['a key without an id', randomBytes(32).toString('base64'), expect.stringMatching(/^PAYLOAD_KEYS: must be keyId:key pairs/)],
    ['one id twice', `k1:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`, 'PAYLOAD_KEYS: key id "k1" appears twice; each key needs its own id'],
  ])('refuses %s, naming the variable and never the key', (_what, value, problem) => {
    const problems = problemsOf({ PAYLOAD_KEYS: value });
    expect(problems).toEqual([problem]);
    for (const part of value.split(/[,:]/)) if (part.length > 8) expect(problems.join('\n')).not.toContain(part);
  });

  it('is required in production, and the development key is refused there', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toContain('PAYLOAD_KEYS: is required when NODE_ENV=production');
    const devKey = `dev:${DEV_PAYLOAD_KEY.key.toString('base64')}`;
    expect(problemsOf({ NODE_ENV: 'production', PAYLOAD_KEYS: devKey })).toContain('PAYLOAD_KEYS: holds the public development key; generate one with `openssl rand -base64 32`');
  });

  it('never shows a key when the configuration is printed, inspected or logged', () => {
    const key = base64();
    const config = loadConfig({ PAYLOAD_KEYS: `2026-01:${key}` });
    const lines: string[] = [];
    const logger = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    logger.info({ config }, 'configuration');
    logger.info({ keys: config.payloadKeys }, 'keys');
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.payloadKeys), lines.join('')]) {
      for (const secret of printed(config.payloadKeys[0]!)) expect(shown).not.toContain(secret);
    }
    expect(inspect(config.payloadKeys)).toContain('2026-01');
  });
});

describe('client data in Temporal, on a real dev server', () => {
  let stack: TestStack;
  let api: Awaited<ReturnType<typeof serveApi>>;
  const uiUrl = 'http://127.0.0.1:8233';
  let onboarded: { email: string; name: string; clientId: string; domain: string; workflowId: string };

  beforeAll(async () => {
    stack = await startTestStack({ dnsVerifyAfterMs: 300 });
    api = await serveApi({ temporal: stack.client, vault: stack.vault, taskQueue: stack.taskQueue, temporalUiUrl: uiUrl });
    // Through the CRM intake, as in production: the API starts the workflow (input, summary) through the codec.
    const client = uniqueClient({ name: `Plumbing Owner ${randomBytes(4).toString('hex')}` });
    const delivery = await deliver(api, clientCreatedEvent({ ...client, services: ['netlify', 'nextnet'] }));
    expect(delivery.status).toBe(202);
    const { workflowId } = (await delivery.json()) as { workflowId: string };
    expect((await stack.client.workflow.getHandle(workflowId).result()).status).toBe('completed');
    onboarded = { ...client, name: client.name!, workflowId };
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  /** The history exactly as Temporal stores it: fetched without the codec, as protobuf bytes. */
  async function rawHistory(workflowId: string): Promise<proto.temporal.api.history.v1.IHistory> {
    const events: proto.temporal.api.history.v1.IHistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await stack.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId }, nextPageToken });
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    return { events };
  }
  const bytesOf = (history: proto.temporal.api.history.v1.IHistory) => Buffer.from(temporal.api.history.v1.History.encode(history).finish());

  it("stores no client's email or name anywhere in the history, which the codec reads back", async () => {
    const raw = await rawHistory(onboarded.workflowId);
    const stored = bytesOf(raw);
    expect(raw.events!.length).toBeGreaterThan(10);
    for (const personal of [onboarded.email, onboarded.name]) {
      expect(stored.includes(personal), personal).toBe(false);
      expect(stored.includes(Buffer.from(personal).toString('base64').slice(0, 12))).toBe(false);
    }
    // The search attributes, which no codec encodes, hold business keys only.
    expect(stored.includes(onboarded.clientId)).toBe(true);

    // Through the codec the same history holds them: the test can see what it looks for.
    const decoded = bytesOf(await decodedHistory(stack.client.workflow.getHandle(onboarded.workflowId)));
    expect(decoded.includes(onboarded.email)).toBe(true);
    expect(decoded.includes(onboarded.name)).toBe(true);
  });

  it('keeps the summary free of personal data, and the engine reads statuses and summaries through the codec', async () => {
    const handle = stack.client.workflow.getHandle(onboarded.workflowId);
    const description = await handle.describe();
    const summary = await description.staticSummary();
    expect(summary).toContain(onboarded.domain);
    expect(summary).not.toContain(onboarded.email);
    expect(await description.staticDetails()).not.toContain(onboarded.email);
    expect((await handle.query(getStatus)).client.email).toBe(onboarded.email);
    const view = (await (await api.ops('GET', `/v1/onboardings/${onboarded.workflowId}`)).json()) as { client: { email: string } };
    expect(view.client.email).toBe(onboarded.email);
  });

  it('lists an onboarding whose memo it cannot decrypt (a key it does not hold) without its reason, instead of failing the page', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const keyless = payloadDataConverter({ payloadKeys: [newKey('other')] });
    const other = await serveApi({ temporal: new Client({ connection, dataConverter: keyless }), vault: stack.vault, taskQueue: stack.taskQueue });
    try {
      const answer = await other.ops('GET', `/v1/onboardings?clientId=${onboarded.clientId}`);
      expect(answer.status).toBe(200);
      const { items } = (await answer.json()) as { items: { onboardingId: string; status: string; reason: string | null }[] };
      expect(items).toEqual([expect.objectContaining({ onboardingId: onboarded.workflowId, status: 'completed', reason: null })]);
    } finally {
      await other.close();
      await connection.close();
    }
  });

  it('replays the encrypted history after a key rotation, and not without the key it was written with', async () => {
    const history = await rawHistory(onboarded.workflowId);
    const workflowBundle = { codePath: inject('workflowBundlePath') };
    const rotated = payloadDataConverter({ payloadKeys: [newKey('2026-02'), DEV_PAYLOAD_KEY] });
    await Worker.runReplayHistory({ workflowBundle, dataConverter: rotated }, history, onboarded.workflowId);

    const retiredTooEarly = payloadDataConverter({ payloadKeys: [newKey('2026-02')] });
    // The error comes quoted inside Core's workflow task failure, hence the escaped quotes.
    await expect(Worker.runReplayHistory({ workflowBundle, dataConverter: retiredTooEarly }, history, onboarded.workflowId)).rejects.toThrow(/key id \\+"dev\\+"/);
  });

  describe('the codec server', () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const asJson = (payload: Payload) => ({
      metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
      data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
    });
    /** The workflow's input as the UI finds it in the history: encrypted. */
    const encryptedInput = async () => {
      const started = (await rawHistory(onboarded.workflowId)).events![0]!.workflowExecutionStartedEventAttributes!;
      return started.input!.payloads![0]! as Payload;
    };
    const bearer = { authorization: `Bearer ${TEST_OPS_TOKEN}` };

    it('refuses to decrypt without the ops token, and says where to log in', async () => {
      const payload = asJson(await encryptedInput());
      const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789' }, { cookie: 'codec_session=4102444800000.forged' }];
      for (const headers of attempts) {
        const response = await post('/codec/decode', { payloads: [payload] }, headers);
        expect(response.status).toBe(401);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        expect(error.code).toBe('unauthorized');
        expect(error.message).toContain(`${api.url}/codec/login`);
        expect(error.message).toContain('Authorization: Bearer <OPS_API_TOKEN>');
      }
    });

    it('decrypts for a holder of the ops token, and passes unencrypted payloads through', async () => {
      const plain = asJson(jsonPayload({ hello: 'world' }));
      const response = await post('/codec/decode', { payloads: [asJson(await encryptedInput()), plain] }, bearer);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const { payloads } = (await response.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
      expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toMatchObject({ client: { email: onboarded.email } });
      expect(payloads[1]).toEqual(plain);
    });

    it('encrypts as the engine does, which decode reverses', async () => {
      const encoded = (await (await post('/codec/encode', { payloads: [asJson(jsonPayload({ email: onboarded.email }))] }, bearer)).json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      expect(Buffer.from(encoded.payloads[0]!.metadata[KEY_ID_METADATA]!, 'base64').toString()).toBe(DEV_PAYLOAD_KEY.id);
      expect(Buffer.from(encoded.payloads[0]!.data, 'base64').includes(onboarded.email)).toBe(false);
      const decoded = (await (await post('/codec/decode', encoded, bearer)).json()) as { payloads: { data: string }[] };
      expect(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString())).toEqual({ email: onboarded.email });
    });

    it('answers a payload of an unknown key with 422 naming the key id, never a key', async () => {
      const stranger = newKey('elsewhere-1');
      const [foreign] = await new EncryptionCodec([stranger]).encode([jsonPayload({ a: 1 })]);
      const response = await post('/codec/decode', { payloads: [asJson(foreign!)] }, bearer);
      expect(response.status).toBe(422);
      const body = await response.text();
      expect((JSON.parse(body) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'undecodable_payload', message: expect.stringContaining('"elsewhere-1"') });
      for (const secret of [...printed(stranger), ...printed(DEV_PAYLOAD_KEY)]) expect(body).not.toContain(secret);
    });

    it('logs a browser in with the ops token: an HttpOnly cookie for /codec that decrypts', async () => {
      const page = await fetch(`${api.url}/codec/login`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('name="token"');
      expect(html).toContain(`${api.url}/codec`);
      expect(html).toContain('Include cross-origin credentials');

      const login = (token: string) =>
        fetch(`${api.url}/codec/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: api.url }, body: new URLSearchParams({ token }) });
      const wrong = await login('not-the-ops-token');
      expect(wrong.status).toBe(303);
      expect(wrong.headers.get('location')).toBe('/codec/login?failed=1');
      expect(wrong.headers.get('set-cookie')).toBeNull();

      const right = await login(TEST_OPS_TOKEN);
      expect(right.status).toBe(303);
      const cookie = right.headers.get('set-cookie')!;
      expect(cookie).toMatch(/^codec_session=\d+\.[\w-]+; Path=\/codec; Max-Age=43200; HttpOnly; SameSite=Lax$/);
      expect(cookie).not.toContain(TEST_OPS_TOKEN);
      const session = cookie.split(';')[0]!;

      const decoded = await post('/codec/decode', { payloads: [asJson(await encryptedInput())] }, { cookie: session, origin: uiUrl });
      expect(decoded.status).toBe(200);
      expect(decoded.headers.get('access-control-allow-origin')).toBe(uiUrl);
      expect(decoded.headers.get('access-control-allow-credentials')).toBe('true');
      const { payloads } = (await decoded.json()) as { payloads: { data: string }[] };
      expect(Buffer.from(payloads[0]!.data, 'base64').toString()).toContain(onboarded.email);
      expect(await (await fetch(`${api.url}/codec/login`, { headers: { cookie: session } })).text()).toContain('This browser may decrypt until');

      // The same cookie, sent by a page of another site, decrypts nothing.
      const foreign = await post('/codec/decode', { payloads: [] }, { cookie: session, origin: 'https://evil.example' });
      expect(foreign.status).toBe(403);
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('serves the temporal CLI, which shows the decrypted history with the ops token only', async () => {
      const inputShown = async (auth: string[]) => {
        const args = ['workflow', 'show', '--address', inject('temporalAddress'), '-w', onboarded.workflowId, '-o', 'json', '--codec-endpoint', `${api.url}/codec`, ...auth];
        const { stdout } = await promisify(execFile)(inject('temporalCliPath'), args);
        const [started] = (JSON.parse(stdout) as { events: { workflowExecutionStartedEventAttributes?: { input: { payloads: { data: string }[] } } }[] }).events;
        return Buffer.from(started!.workflowExecutionStartedEventAttributes!.input.payloads[0]!.data, 'base64').toString('utf8');
      };
      expect(await inputShown(['--codec-auth', `Bearer ${TEST_OPS_TOKEN}`])).toContain(onboarded.email);
      // Without the token the codec server answers 401, and the CLI shows what Temporal stores.
      expect(await inputShown([]).catch(() => '')).not.toContain(onboarded.email);
    });

    it("answers the Temporal UI's CORS preflight for its origin only, exactly", async () => {
      const preflight = (origin: string) =>
        fetch(`${api.url}/codec/decode`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
        });
      const ok = await preflight(uiUrl);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe(uiUrl);
      expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
      expect(ok.headers.get('access-control-allow-methods')).toBe('POST');
      expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-namespace');
      expect(ok.headers.get('vary')).toContain('Origin');

      for (const origin of ['http://localhost:8233', 'http://127.0.0.1:8234', 'https://evil.example']) {
        const refused = await preflight(origin);
        expect(refused.status, origin).toBe(403);
        expect(refused.headers.get('access-control-allow-origin'), origin).toBeNull();
      }
    });
  });
});
