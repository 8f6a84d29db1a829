/**
 * Clients' emails and names travel through Temporal in workflow inputs and results, statuses (query results, update
 * arguments), memos and summaries. Every payload the project's clients and workers write is sealed here with
 * AES-256-GCM, so Temporal's database and its Web UI hold ciphertext; ops read it through the API's codec endpoint
 * (`api/codec-server.ts`). Search attributes are never encoded by codecs: they hold no personal data
 * (`workflows/search-attributes.ts`).
 *
 * Each encrypted payload names its key (`encryption-key-id`), so keys rotate: the first of PAYLOAD_KEYS encrypts,
 * every one of them decrypts. Payloads written before encryption (old histories) pass through decode unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Config, PayloadKey } from './index.js';

const { temporal } = proto;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload names a key id that PAYLOAD_KEYS does not hold (retired too early, or another environment's). */
export class UnknownPayloadKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`a payload is encrypted with key id "${keyId}", which PAYLOAD_KEYS does not hold; add that key back (keep a retired key as long as histories encrypted with it exist)`);
    this.name = 'UnknownPayloadKeyError';
  }
}

/** The payload names a key PAYLOAD_KEYS holds, but does not open with it. */
export class PayloadDecryptionError extends Error {
  constructor(readonly keyId: string) {
    super(`a payload encrypted with key id "${keyId}" cannot be decrypted: PAYLOAD_KEYS holds another key under that id, or the payload was tampered with`);
    this.name = 'PayloadDecryptionError';
  }
}

export class EncryptionCodec implements PayloadCodec {
  private readonly current: PayloadKey;
  private readonly keys: ReadonlyMap<string, Buffer>;

  /** `keys[0]` encrypts; all of them decrypt. */
  constructor(keys: readonly PayloadKey[]) {
    if (!keys[0]) throw new Error('the payload codec needs at least one key (PAYLOAD_KEYS)');
    this.current = keys[0];
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    // Binding the key id: a payload relabelled with another id fails to open rather than decrypting wrongly.
    cipher.setAAD(Buffer.from(id));
    const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id), [CIPHER_METADATA]: utf8(CIPHER) },
      data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
    };
  }

  private decrypt(payload: Payload): Payload {
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
    const key = this.keys.get(keyId);
    if (!key) throw new UnknownPayloadKeyError(keyId);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    try {
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plaintext);
    } catch {
      throw new PayloadDecryptionError(keyId);
    }
  }
}

export function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.encoding) === ENCRYPTED_ENCODING;
}

/**
 * The one data converter of every Temporal client and worker the project makes (worker, API, scripts, tests), and of
 * replays: the same keys on both sides, or a worker could not read what a client wrote.
 */
export function payloadDataConverter(config: Pick<Config, 'payloadKeys'>): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(config.payloadKeys)] };
}

const utf8 = (value: string) => Buffer.from(value, 'utf8');
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);
