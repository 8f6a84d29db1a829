import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../config/logger.js';
import { Writable } from 'node:stream';
import { clientCreatedEvent, eventually, serveApi, signedDelivery, startTestStack, uniqueClient, type TestStack } from './support.js';

const run = promisify(execFile);

let stack: TestStack;
let api: Awaited<ReturnType<typeof serveApi>>;
const apiLogLines: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({ dnsVerifyAfterMs: 500 });
  const sink = new Writable({ write: (chunk, _e, done) => (apiLogLines.push(String(chunk)), done()) });
  api = await serveApi({ temporal: stack.client, vault: stack.vault, taskQueue: stack.taskQueue, logger: createLogger({ level: 'debug' }, sink) });
});
afterAll(async () => {
  await api?.close();
  await stack?.close();
});

interface StatusBody {
  status: string;
  workflowStatus: string;
  needsAttention: unknown;
  domain: string;
  steps: { name: string; state: string; finishedAt: string | null }[];
}

describe('an onboarding from signed webhook to signup email, over HTTP', () => {
  it('completes, emails the client, keeps the WordPress key in the vault and out of history and logs', async () => {
    const client = uniqueClient({ domain: 'Acme-E2E-' + Math.random().toString(36).slice(2, 7) + '.example.com' });
    const domain = client.domain.toLowerCase();
    const body = JSON.stringify(clientCreatedEvent(client));
    const accepted = await api.post('/webhooks/crm', body, signedDelivery(body));
    expect(accepted.status).toBe(202);
    const { onboardingId } = (await accepted.json()) as { onboardingId: string };

    const done = await eventually(async () => {
      const response = await api.ops('GET', `/v1/onboardings/${onboardingId}`);
      const status = (await response.json()) as StatusBody;
      return status.workflowStatus === 'COMPLETED' && status;
    }, { what: 'the onboarding to complete' });
    expect(done.workflowStatus).toBe('COMPLETED');
    expect(done.domain).toBe(domain);
    expect(done.needsAttention).toBeNull();
    expect(done.steps.every((s) => s.state === 'done' && s.finishedAt)).toBe(true);

    const emails = await stack.mail.emails();
    const signup = emails.find((m) => m.to.some((t) => t.address === client.email));
    expect(signup?.text).toContain('https://app.bediscovered.ai/auth/signup');
    expect(signup?.html).toContain('https://app.bediscovered.ai/auth/signup');

    const issued = ((await stack.simulatorCall('GET', '/_simulator/domains')) as { host: string; wordpressApiKey: string }[]).find((d) => d.host === domain);
    const secretResponse = await api.ops('GET', `/v1/onboardings/${onboardingId}/secrets/wordpress-api-key`);
    expect(secretResponse.status).toBe(200);
    expect(secretResponse.headers.get('cache-control')).toBe('no-store');
    expect(await secretResponse.json()).toEqual({ value: issued!.wordpressApiKey });

    const shown = await run(inject('temporalCliPath'), ['workflow', 'show', '--output', 'json', '--workflow-id', onboardingId, '--address', stack.temporalAddress]);
    expect(shown.stdout).toContain('registerClientDomain');
    expect(shown.stdout).not.toContain(issued!.wordpressApiKey);

    const allLogs = stack.logs.join('') + apiLogLines.join('');
    expect(allLogs).not.toContain(issued!.wordpressApiKey);
    expect(allLogs).not.toContain('sk_org_test_reseller_key');
    const audit = stack.logs.map((l) => JSON.parse(l)).find((l) => l.audit === 'secret.read' && l.onboardingId === onboardingId);
    expect(audit).toMatchObject({ secretName: 'wordpress-api-key', purpose: 'ops endpoint', found: true });
    expect(audit.actor).toContain('ops-api');
    // Every log line about this onboarding, from activities, the vault and the API, names its workflow.
    const aboutIt = [...stack.logs, ...apiLogLines].map((l) => JSON.parse(l)).filter((l) => l.onboardingId === onboardingId);
    expect(aboutIt.map((l) => l.msg)).toEqual(expect.arrayContaining(['domain registered with NextNet', 'secret stored in vault', 'signup email sent', 'onboarding started', 'request']));
    expect(aboutIt.filter((l) => l.workflowId !== onboardingId)).toEqual([]);
  });

  it('lets ops trigger a DNS check on a waiting onboarding, and refuses it once completed', async () => {
    await stack.whileDnsNeverVerifies(async () => {
      const client = uniqueClient();
      const handle = await stack.startOnboarding(client, { dnsPollInitialMs: 3_600_000, dnsPollMaxMs: 3_600_000 });
      await eventually(async () => {
        const s = (await (await api.ops('GET', `/v1/onboardings/${handle.workflowId}`)).json()) as StatusBody;
        return s.status === 'awaiting-dns';
      }, { what: 'awaiting DNS' });
      await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const nudged = await api.ops('POST', `/v1/onboardings/${handle.workflowId}/dns-check`);
      expect(nudged.status).toBe(202);
      expect((await handle.result()).status).toBe('completed');

      const late = await api.ops('POST', `/v1/onboardings/${handle.workflowId}/dns-check`);
      expect(late.status).toBe(409);
    });
  });
});
