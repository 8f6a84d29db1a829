import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ClientCreatedData, ClientId, CrmEvent, DomainName } from '../api/crm-events.js';

/** The messages a refused value gets; fails the test if the value is accepted. */
function messagesFor(schema: z.ZodType, input: unknown): string[] {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return result.error.issues.map((issue) => issue.message);
}

const validClient = { clientId: 'crm-1042', email: 'owner@acme-plumbing.com', name: 'Acme Plumbing', domain: 'acme-plumbing.com' };

describe('domain names', () => {
  it.each([
    ['acme-plumbing.com', 'acme-plumbing.com'],
    ['ACME-Plumbing.COM', 'acme-plumbing.com'],
    ['acme-plumbing.com.', 'acme-plumbing.com'],
    ['  acme-plumbing.com  ', 'acme-plumbing.com'],
    ['shop.acme-plumbing.co.uk', 'shop.acme-plumbing.co.uk'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['BÜCHER.DE.', 'xn--bcher-kva.de'],
    ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah'],
  ])('%j is stored as %j', (raw, normalised) => {
    expect(DomainName.parse(raw)).toBe(normalised);
  });

  it.each(['https://acme.com', 'HTTP://acme.com', 'ftp://acme.com'])('%j is refused for its scheme', (raw) => {
    expect(messagesFor(DomainName, raw)).toEqual(['must be a bare domain without a scheme (acme.com, not https://acme.com)']);
  });

  it.each(['acme.com/shop', 'acme.com?ref=crm', 'acme.com#top'])('%j is refused for its path', (raw) => {
    expect(messagesFor(DomainName, raw)).toEqual(['must be a bare domain without a path (acme.com, not acme.com/shop)']);
  });

  it.each(['acme.com:8080', 'acme .com', 'owner@acme.com'])('%j is refused as not a bare domain', (raw) => {
    expect(messagesFor(DomainName, raw)).toEqual(['must be a bare domain without a port, spaces or credentials']);
  });

  it.each(['localhost', 'acme', 'acme..com', 'acme.com..', '-acme.com', 'acme-.com', 'acme.123', '192.168.1.10', 'acme_plumbing.com', `${'a'.repeat(64)}.com`])(
    '%j is refused as not a valid domain name',
    (raw) => {
      expect(messagesFor(DomainName, raw)).toEqual(['is not a valid domain name (expected something like acme-plumbing.com)']);
    },
  );

  it('a domain longer than 253 characters is refused', () => {
    const long = `${Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.')}.com`;
    expect(long.length).toBeGreaterThan(253);
    expect(messagesFor(DomainName, long)).toEqual(['is not a valid domain name (expected something like acme-plumbing.com)']);
  });

  it('an empty domain is required', () => {
    expect(messagesFor(DomainName, '   ')).toEqual(['is required']);
  });
});

describe('client ids', () => {
  it.each(['crm-1042', '1042', 'hubspot:contact:88', 'owner@acme.com', 'a.b_c-d'])('%j is accepted', (id) => {
    expect(ClientId.parse(id)).toBe(id);
  });

  it('surrounding spaces are trimmed', () => {
    expect(ClientId.parse('  crm-1042 ')).toBe('crm-1042');
  });

  it.each(['-1042', '.hidden', 'crm 1042', 'crm/1042', 'crm#1042', 'crm-é'])('%j is refused, saying which characters are allowed', (id) => {
    expect(messagesFor(ClientId, id)).toEqual(['may contain only letters, digits and . _ : @ - (and must start with a letter or digit)']);
  });

  it('an empty client id is reported as required first', () => {
    expect(messagesFor(ClientId, '  ')[0]).toBe('is required');
  });

  it('a client id of 128 characters is accepted and one of 129 is refused', () => {
    expect(ClientId.parse('c'.repeat(128))).toHaveLength(128);
    expect(messagesFor(ClientId, 'c'.repeat(129))).toEqual(['must be at most 128 characters']);
  });
});

describe('client.created data', () => {
  it('the email is trimmed and lower-cased, the domain normalised, the cms lower-cased', () => {
    const data = ClientCreatedData.parse({ ...validClient, email: '  Owner@ACME-Plumbing.com ', domain: 'ACME-Plumbing.com.', cms: ' WordPress ' });

    expect(data.email).toBe('owner@acme-plumbing.com');
    expect(data.domain).toBe('acme-plumbing.com');
    expect(data.cms).toBe('wordpress');
  });

  it('optional details may be left out', () => {
    expect(ClientCreatedData.parse({ clientId: 'crm-1', email: 'owner@acme.com', domain: 'acme.com' })).toEqual({
      clientId: 'crm-1',
      email: 'owner@acme.com',
      domain: 'acme.com',
    });
  });

  it('an invalid email is refused with a readable message under its field', () => {
    const result = ClientCreatedData.safeParse({ ...validClient, email: 'owner at acme' });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['email'], message: 'is not a valid email address' })]);
  });

  it('a blank or overlong optional detail is refused', () => {
    const result = ClientCreatedData.safeParse({ ...validClient, city: '  ', industry: 'x'.repeat(201) });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['industry'], ['city']]);
  });

  it('each problem is reported under its own field', () => {
    const result = ClientCreatedData.safeParse({ clientId: '-bad', email: 'nope', domain: 'https://acme.com' });
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['clientId', 'email', 'domain']);
  });
});

describe('CRM events', () => {
  const timestamp = '2026-03-02T09:00:00.000Z';

  it('a client.created event is read with its normalised data', () => {
    const event = CrmEvent.parse({ type: 'client.created', timestamp, data: { ...validClient, domain: 'Acme-Plumbing.com' } });
    expect(event).toEqual({ type: 'client.created', timestamp, data: { ...validClient, domain: 'acme-plumbing.com' } });
  });

  it('a timestamp with an offset is accepted', () => {
    expect(CrmEvent.parse({ type: 'client.created', timestamp: '2026-03-02T10:00:00+01:00', data: validClient }).timestamp).toBe('2026-03-02T10:00:00+01:00');
  });

  it('an unknown event type is refused, naming the type received and the types understood', () => {
    const result = CrmEvent.safeParse({ type: 'client.deleted', timestamp, data: validClient });

    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['type'], message: 'unknown event type "client.deleted"; expected one of: client.created, client.churned, client.reactivated' }),
    ]);
  });

  it('a missing event type says so', () => {
    const result = CrmEvent.safeParse({ timestamp, data: validClient });
    expect(result.error?.issues[0]).toMatchObject({ path: ['type'], message: 'is required; expected one of: client.created, client.churned, client.reactivated' });
  });

  it.each(['yesterday', '2026-03-02', '2026-03-02 09:00:00'])('a timestamp %j that is not an ISO date-time is refused', (value) => {
    const result = CrmEvent.safeParse({ type: 'client.created', timestamp: value, data: validClient });
    expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['timestamp'], message: 'must be an ISO 8601 date-time' })]);
  });

  it('problems in the data are reported with their path inside data', () => {
    const result = CrmEvent.safeParse({ type: 'client.created', timestamp, data: { ...validClient, domain: 'acme.com:443' } });
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['data', 'domain'], message: 'must be a bare domain without a port, spaces or credentials' }),
    ]);
  });
});
