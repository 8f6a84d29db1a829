/**
 * The outside world of the benchmark, in a process of its own so its CPU is counted apart: the NextNet and Netlify
 * simulator (answering without delay) with its DNS server, and MailDev. Started by scripts/bench.ts over IPC.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startMailDev } from '../maildev.js';
import { startSimulator } from '../../simulator/app.js';
import { freePort, ownUsage, serveRpc } from './harness.js';

export const WORLD_RESELLER_KEY = 'sk_org_bench_reseller_key_0123';
export const WORLD_NETLIFY_TOKEN = 'nfr_bench_reseller_token_0123';
export const WORLD_LOAD_BALANCER_IP = '75.2.60.5';

export interface WorldReady {
  simulatorUrl: string;
  nextnetUrl: string;
  netlifyUrl: string;
  dnsAddress: string;
  smtpUrl: string;
}

/** TCP connections accepted, by local port: keep-alive shows as far fewer connections than requests. */
const connectionsByPort = new Map<number, number>();
function countConnections(): void {
  const prototype = net.Server.prototype as unknown as { emit(event: string | symbol, ...args: unknown[]): boolean };
  const emit = prototype.emit;
  prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'connection') {
      const port = (this.address() as net.AddressInfo | null)?.port ?? 0;
      connectionsByPort.set(port, (connectionsByPort.get(port) ?? 0) + 1);
    }
    return emit.call(this, event, ...args);
  };
}

const isChild = process.send !== undefined && process.argv[1]?.endsWith('world.ts');
if (isChild) {
  countConnections();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-world-'));
  const simulator = await startSimulator({
    apiKeys: [WORLD_RESELLER_KEY],
    netlifyResellerTokens: [WORLD_NETLIFY_TOKEN],
    netlify: { loadBalancerIp: WORLD_LOAD_BALANCER_IP, siteCreatesPerMinute: 1_000_000 },
    dnsVerifyAfterMs: 0,
    dns: { port: 0 },
  });
  const mail = await startMailDev({ smtpPort: await freePort(), webPort: await freePort(), mailDirectory: path.join(dir, 'mail') });
  const close = async () => {
    await mail.close().catch(() => undefined);
    await simulator.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void close());
  process.on('disconnect', () => void close());
  serveRpc(
    {
      usage: () => ownUsage(),
      /** The client-DNS delay: 0 verifies every waiting domain at once, null never. */
      dnsVerifyAfter: (ms: number | null) => simulator.knobs.configure({ dnsVerifyAfterMs: ms }),
      /** Connections accepted so far by the simulator's HTTP server and MailDev's SMTP server. */
      connections: () => ({
        simulatorHttp: connectionsByPort.get(Number(new URL(simulator.url).port)) ?? 0,
        smtp: connectionsByPort.get(Number(new URL(mail.smtpUrl).port)) ?? 0,
      }),
      /** NextNet calls so far, by route (register, dashboard = one DNS check, list = one sweep). */
      calls: () => {
        const counts: Record<string, number> = {};
        for (const call of simulator.knobs.calls()) counts[call.route] = (counts[call.route] ?? 0) + 1;
        return counts;
      },
    },
    {
      simulatorUrl: simulator.url,
      nextnetUrl: simulator.baseUrl,
      netlifyUrl: simulator.netlifyBaseUrl,
      dnsAddress: simulator.dns!.address,
      smtpUrl: mail.smtpUrl,
    } satisfies WorldReady,
  );
}
