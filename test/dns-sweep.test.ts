/**
 * The DNS sweep (worker/dns-sweep.ts): one read of NextNet's domain list wakes exactly the onboardings awaiting DNS
 * whose domain became verified, once; those complete without waiting for their next poll. On the shared dev server,
 * with a real worker and the simulator; the onboardings' own polls are an hour apart, so only the sweep can wake them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { NextNetClient } from '../platforms/nextnet/client.js';
import { startDnsSweep } from '../worker/dns-sweep.js';
import { getStatus } from '../workflows/definitions.js';
import { eventually, startTestStack, TEST_RESELLER_KEY, uniqueClient, type TestStack } from './support.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
  // The simulated clients never add their DNS records by themselves here: the test verifies each domain by hand.
  await stack.simulatorCall('POST', '/_simulator/config', { dnsVerifyAfterMs: null });
});
afterAll(async () => {
  await stack?.close();
});

describe('DNS_SWEEP_INTERVAL', () => {
  it('defaults to a minute, takes a duration of at least a second, and off', () => {
    expect(loadConfig({}).dnsSweepIntervalMs).toBe(60_000);
    expect(loadConfig({ DNS_SWEEP_INTERVAL: '30s' }).dnsSweepIntervalMs).toBe(30_000);
    expect(loadConfig({ DNS_SWEEP_INTERVAL: 'off' }).dnsSweepIntervalMs).toBeNull();
    expect(() => loadConfig({ DNS_SWEEP_INTERVAL: '500ms' })).toThrow(/DNS_SWEEP_INTERVAL/);
    expect(() => loadConfig({ DNS_SWEEP_INTERVAL: 'soon' })).toThrow(/DNS_SWEEP_INTERVAL/);
  });
});

describe('the DNS sweep', () => {
  it('wakes the onboardings whose domain NextNet now reads verified, once each, and no other', { timeout: 120_000 }, async () => {
    const clients = [uniqueClient(), uniqueClient(), uniqueClient()];
    // Polls an hour apart: after the first check at once, nothing but the sweep makes them check again.
    const handles = await Promise.all(clients.map((client) => stack.startOnboarding(client, { dnsPollInitialMs: 3_600_000, dnsPollMaxMs: 3_600_000 })));
    await eventually(async () => {
      const statuses = await Promise.all(handles.map((h) => h.query(getStatus)));
      return statuses.every((s) => s.status === 'awaiting-dns' && s.dns.checks >= 1);
    }, { what: 'three onboardings awaiting DNS' });
    const domains = clients.map((c) => `'${c.domain}'`).join(', ');
    await eventually(async () => (await stack.client.workflow.count(`OnboardingStatus = 'awaiting-dns' AND OnboardingDomain IN (${domains})`)).count === 3, { what: 'visibility to show them awaiting DNS' });

    const nextnet = new NextNetClient({ baseUrl: stack.simulator.baseUrl, apiKey: TEST_RESELLER_KEY, timeoutMs: 5_000 });
    const sweep = startDnsSweep({ nextnet, client: stack.client, intervalMs: 3_600_000, logger: createLogger({ level: 'silent' }) });
    try {
      // Other test files' domains verify too on the shared simulator; none of ours is verified yet.
      const first = await sweep.sweepOnce();
      expect(first.listed).toBeGreaterThanOrEqual(3);

      for (const client of clients.slice(0, 2)) await stack.simulatorCall('POST', `/_simulator/domains/${client.domain}/verify`);
      const second = await sweep.sweepOnce();
      expect(second.newlyVerified).toBe(2);
      expect(second.signalled).toBe(2);
      for (const handle of handles.slice(0, 2)) expect((await handle.result()).status).toBe('completed');
      expect((await handles[2]!.query(getStatus)).status).toBe('awaiting-dns');

      // Nothing new verified: no lookup, no signal, however often it sweeps.
      const third = await sweep.sweepOnce();
      expect(third).toMatchObject({ newlyVerified: 0, signalled: 0 });
    } finally {
      await sweep.stop();
    }

    // On its own timer: the third completes once its domain verifies.
    const timed = startDnsSweep({ nextnet, client: stack.client, intervalMs: 300, logger: createLogger({ level: 'silent' }) });
    try {
      await stack.simulatorCall('POST', `/_simulator/domains/${clients[2]!.domain}/verify`);
      const status = await handles[2]!.result();
      expect(status.status).toBe('completed');
      // Woken by the sweep, not by a poll of its own: one check before, one after.
      expect(status.dns.checks).toBe(2);
    } finally {
      await timed.stop();
    }
  });
});
