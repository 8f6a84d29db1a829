import { readFileSync } from 'node:fs';
import type { Config } from './index.js';

/** How the worker, the API and the dev-stack scripts reach Temporal: address, and TLS or an API key when set. */
export function temporalConnectionOptions(temporal: Config['temporal']) {
  const { tls } = temporal;
  const read = (file: string | undefined, variable: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const crt = read(tls?.certFile, 'TEMPORAL_TLS_CERT');
  const key = read(tls?.keyFile, 'TEMPORAL_TLS_KEY');
  const ca = read(tls?.caFile, 'TEMPORAL_TLS_CA');
  return {
    address: temporal.address,
    tls: tls ? { ...(crt && key ? { clientCertPair: { crt, key } } : {}), ...(ca ? { serverRootCACertificate: ca } : {}) } : undefined,
    apiKey: temporal.apiKey,
  };
}
