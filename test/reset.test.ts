import { randomUUID } from 'node:crypto';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, uniqueClient, type TestStack } from './support.js';

/**
 * Temporal's Reset (the biggest button on a workflow's page in the UI) starts a new run from a chosen workflow task,
 * replaying the history up to it and running the rest again. An onboarding must survive it: nothing that must happen
 * once happens twice.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ dnsVerifyAfterMs: 300 });
});
afterAll(async () => {
  await stack?.close();
});

interface Call {
  route: string;
  status: number | 'dropped';
  domainHost?: string;
}

const EventType = proto.temporal.api.enums.v1.EventType;

async function resetTo(workflowId: string, which: 'first' | 'last'): Promise<string> {
  const handle = stack.client.workflow.getHandle(workflowId);
  const { runId } = await handle.describe();
  const events = (await handle.fetchHistory()).events ?? [];
  const completedTasks = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const target = which === 'first' ? completedTasks[0] : completedTasks.at(-1);
  const response = await stack.client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId, runId },
    reason: `test: reset to the ${which} workflow task`,
    workflowTaskFinishEventId: target!.eventId,
    requestId: randomUUID(),
  });
  return response.runId!;
}

const mailsTo = async (address: string) => (await stack.mail.emails()).filter((m) => m.to.some((t) => t.address === address));

describe('Temporal Reset of an onboarding', () => {
  it('to the last workflow task: the new run finishes without calling any platform or emailing again', async () => {
    const client = uniqueClient();
    const handle = await stack.startOnboarding(client, {}, ['netlify', 'nextnet']);
    expect((await handle.result()).status).toBe('completed');
    const nextnetBefore = ((await stack.simulatorCall('GET', '/_simulator/calls')) as Call[]).filter((c) => c.domainHost === client.domain).length;
    const netlifyBefore = ((await stack.simulatorCall('GET', '/_simulator/netlify/calls')) as Call[]).filter((c) => c.domainHost === client.domain).length;

    const newRunId = await resetTo(handle.workflowId, 'last');
    const reset = stack.client.workflow.getHandle(handle.workflowId, newRunId);
    expect((await reset.result()).status).toBe('completed');

    expect(((await stack.simulatorCall('GET', '/_simulator/calls')) as Call[]).filter((c) => c.domainHost === client.domain)).toHaveLength(nextnetBefore);
    expect(((await stack.simulatorCall('GET', '/_simulator/netlify/calls')) as Call[]).filter((c) => c.domainHost === client.domain)).toHaveLength(netlifyBefore);
    expect(await mailsTo(client.email)).toHaveLength(1);
  });

  it('to the first workflow task: everything runs again, yet one registration, one user, one site and one email', async () => {
    const client = uniqueClient();
    const handle = await stack.startOnboarding(client, {}, ['netlify', 'nextnet']);
    expect((await handle.result()).status).toBe('completed');

    const newRunId = await resetTo(handle.workflowId, 'first');
    const result = await stack.client.workflow.getHandle(handle.workflowId, newRunId).result();
    expect(result.status).toBe('completed');
    // The re-run registration found the domain already registered, and the WordPress key still in the vault.
    expect(result.registration).toMatchObject({ foundExisting: true, wordpressKey: 'stored' });
    expect(result.needsAttention).toBeNull();

    const domains = ((await stack.simulatorCall('GET', '/_simulator/domains')) as { host: string }[]).filter((d) => d.host === client.domain);
    expect(domains).toHaveLength(1);
    const users = ((await stack.simulatorCall('GET', '/_simulator/netlify/users')) as { uid: string }[]).filter((u) => u.uid === client.clientId);
    expect(users).toHaveLength(1);
    const sites = ((await stack.simulatorCall('GET', '/_simulator/netlify/sites')) as { custom_domain: string | null; removed_at?: string | null }[]).filter(
      (s) => s.custom_domain === client.domain && !s.removed_at,
    );
    expect(sites).toHaveLength(1);
    expect(result.netlify?.site?.adopted).toBe(true);
    expect(await mailsTo(client.email)).toHaveLength(1);
  });
});
