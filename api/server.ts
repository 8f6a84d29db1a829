import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { payloadDataConverter } from '../config/payload-codec.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import { NetlifyClient } from '../platforms/netlify/client.js';
import type { SecretVault } from '../vault/index.js';
import { createApp } from './app.js';
import { answerUnreadableRequestsInJson } from './errors.js';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

/** Connects lazily to Temporal (so the API starts, and answers 503, while Temporal is down) and listens. */
export async function startApiServer(options: { config: Config; logger: Logger; vault: SecretVault; port?: number }): Promise<RunningApi> {
  const { config, logger, vault } = options;
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  // The same data converter as the worker's: the API writes workflow inputs and reads statuses; its codec endpoint uses it too.
  const temporal = new Client({ connection, namespace: config.temporal.namespace, dataConverter: payloadDataConverter(config) });
  // The reseller-wide view of Netlify (/v1/reseller) needs the reseller token; without Netlify configured it answers 503.
  const netlify = config.availableServices.includes('netlify')
    ? new NetlifyClient({ baseUrl: config.netlify.apiUrl, resellerToken: config.netlify.resellerToken, timeoutMs: config.netlify.timeoutMs, userAgent: config.netlify.userAgent })
    : undefined;
  const app = createApp({ config, temporal, vault, logger, netlify });
  const server = app.listen(options.port ?? config.port, '0.0.0.0');
  answerUnreadableRequestsInJson(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await connection.close();
    },
  };
}
