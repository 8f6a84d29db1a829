import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/index.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';

describe('connecting to Temporal', () => {
  it('uses plain text to a local server when nothing else is configured', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal)).toEqual({ address: 'temporal:7233', tls: undefined, apiKey: undefined });
  });

  it('turns TLS on with system roots for a Temporal Cloud API key', () => {
    const options = temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'cloud-api-key-123' }).temporal);
    expect(options).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'cloud-api-key-123' });
  });

  it('reads the mTLS client certificate, key and CA from their files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mtls-'));
    for (const name of ['client.pem', 'client.key', 'ca.pem']) await writeFile(path.join(dir, name), `-----${name}-----`);
    const options = temporalConnectionOptions(
      loadConfig({ TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'), TEMPORAL_TLS_KEY: path.join(dir, 'client.key'), TEMPORAL_TLS_CA: path.join(dir, 'ca.pem') }).temporal,
    );
    expect(options.tls?.clientCertPair?.crt.toString()).toBe('-----client.pem-----');
    expect(options.tls?.clientCertPair?.key.toString()).toBe('-----client.key-----');
    expect(options.tls?.serverRootCACertificate?.toString()).toBe('-----ca.pem-----');
  });

  it('refuses a certificate without its key, naming both variables', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/x/client.pem' })).toThrow(ConfigError);
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/x/client.pem' })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
  });

  it('names the variable whose file cannot be read', () => {
    const temporal = loadConfig({ TEMPORAL_TLS_CERT: '/nope/client.pem', TEMPORAL_TLS_KEY: '/nope/client.key' }).temporal;
    expect(() => temporalConnectionOptions(temporal)).toThrow(/TEMPORAL_TLS_CERT: cannot read \/nope\/client.pem \(ENOENT\)/);
  });
});
