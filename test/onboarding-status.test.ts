import { describe, expect, it } from 'vitest';
import { describeForOps, formatDuration, nextAction, reasonLine } from '../workflows/onboarding-status.js';
import type { OnboardingStatus } from '../workflows/definitions.js';

const base: OnboardingStatus = {
  onboardingId: 'onboarding-crm-1',
  clientId: 'crm-1',
  domain: 'acme.com',
  client: { clientId: 'crm-1', email: 'owner@acme.com', domain: 'acme.com' },
  settings: { dnsPollInitialMs: 60_000, dnsPollMaxMs: 1_800_000, dnsDeadlineMs: 259_200_000 },
  changes: [],
  services: ['netlify', 'nextnet'],
  status: 'awaiting-dns',
  needsAttention: null,
  failure: null,
  steps: [],
  registration: null,
  netlify: null,
  dns: { verificationStatus: 'pending', checks: 3, waitingSince: '2026-11-29T10:00:00Z', lastCheckedAt: null, nextCheckAt: '2026-11-29T10:05:00Z', deadlineAt: null, verifiedAt: null, nextIntervalMs: null },
  signupEmail: null,
  startedAt: '2026-11-29T10:00:00Z',
  updatedAt: '2026-11-29T10:00:00Z',
  runs: 1,
};

describe('durations in what ops read', () => {
  it.each([
    [90_000, '90 s'],
    [1_000, '1 s'],
    [1_500, '1.5 s'],
    [15 * 60_000, '15 min'],
    [90 * 60_000, '90 min'],
    [72 * 3_600_000, '72 h'],
    [7 * 86_400_000, '7 d'],
    [30 * 86_400_000, '30 d'],
  ])('%i ms reads as %s, as configured', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('the next action, first in the Temporal UI', () => {
  it('names the wrong DNS record to fix within the first 90 characters', () => {
    const waiting: OnboardingStatus = {
      ...base,
      dns: { ...base.dns, records: [{ name: 'www.acme.com', type: 'CNAME', found: ['old.example'], expected: 'acme-com.netlify.app', ok: false, fix: 'www.acme.com is a CNAME to old.example; point it at acme-com.netlify.app' }] },
    };
    const first = describeForOps(waiting).split('\n')[0]!;
    expect(first.slice(0, 90)).toContain('fix DNS: www.acme.com is a CNAME to old.example');
  });

  it('puts the action of what needs attention first, and the detail after it', () => {
    const stuck: OnboardingStatus = {
      ...base,
      needsAttention: { reason: 'WordPress key lost; regenerate it in the NextNet dashboard', since: '2026-11-29T10:00:00Z', items: [{ code: 'wordpress-key-lost', reason: 'WordPress key lost; regenerate it in the NextNet dashboard', since: '2026-11-29T10:00:00Z', action: 'Regenerate the WordPress key in NextNet, store it (onboarding secret set), retry' }] },
    };
    const details = describeForOps(stuck);
    expect(details.slice(0, 90)).toContain('⚠ Regenerate the WordPress key in NextNet, store it (onboarding secret set), retry');
    expect(details).toContain('Needs attention since 2026-11-29T10:00:00Z: WordPress key lost');
  });

  it('a cancelled onboarding says how to resume and nothing about a next check', () => {
    const cancelled: OnboardingStatus = { ...base, status: 'cancelled' };
    expect(nextAction(cancelled)).toBe('Cancelled: nothing runs. To resume: npx onboarding retry onboarding-crm-1 --resume-cancelled');
    expect(describeForOps(cancelled)).not.toContain('next check');
  });

  it('a completed onboarding needs nothing', () => {
    expect(nextAction({ ...base, status: 'completed' })).toBe('Completed: nothing to do.');
    expect(reasonLine({ ...base, status: 'completed' })).toBeNull();
  });

  it('the reason column is the failure first, then what needs attention, then what it waits for', () => {
    expect(reasonLine({ ...base, dns: { ...base.dns, waitingFor: ['NextNet: verification_status pending'] } })).toBe('NextNet: verification_status pending');
    expect(reasonLine({ ...base, status: 'failed', failure: { reason: 'acme.com is already used by another Netlify account\nmore', type: 'DomainOwnedElsewhere', at: '' } })).toBe('acme.com is already used by another Netlify account');
  });
});
