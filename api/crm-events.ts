import { domainToASCII } from 'node:url';
import { z } from 'zod';
import { orderedPlan, PLATFORM_NAMES, type PlatformName } from '../platforms/catalog.js';

/** Hostnames are keys (one onboarding per domain at NextNet), so they are normalised before use. */
export const DomainName = z
  .string()
  .trim()
  .min(1, 'is required')
  .transform((raw, ctx) => {
    const problem = /[a-z][a-z0-9+.-]*:\/\//i.test(raw)
      ? 'must be a bare domain without a scheme (acme.com, not https://acme.com)'
      : /[/?#]/.test(raw)
        ? 'must be a bare domain without a path (acme.com, not acme.com/shop)'
        : /[:\s@]/.test(raw)
          ? 'must be a bare domain without a port, spaces or credentials'
          : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    const ascii = domainToASCII(raw.toLowerCase().replace(/\.$/, ''));
    const labels = ascii.split('.');
    const valid =
      ascii.length > 0 &&
      ascii.length <= 253 &&
      labels.length >= 2 &&
      labels.every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) &&
      /^(?:[a-z]{2,63}|xn--[a-z0-9-]+)$/.test(labels.at(-1) ?? '');
    if (!valid) {
      ctx.addIssue({ code: 'custom', message: 'is not a valid domain name (expected something like acme-plumbing.com)' });
      return z.NEVER;
    }
    return ascii;
  });

const optionalText = z.string().trim().min(1).max(200).optional();

export const ClientId = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'may contain only letters, digits and . _ : @ - (and must start with a letter or digit)');

export const ClientCreatedData = z.object({
  clientId: ClientId,
  email: z.string().trim().pipe(z.email('is not a valid email address')).transform((email) => email.toLowerCase()),
  name: optionalText,
  domain: DomainName,
  cms: z.string().trim().toLowerCase().max(50).optional(),
  subscriptionTier: optionalText,
  industry: optionalText,
  businessScope: optionalText,
  city: optionalText,
  state: optionalText,
  /** The platforms of the client's plan; absent = the engine's default plan (ONBOARDING_SERVICES). */
  services: z
    .array(z.enum(PLATFORM_NAMES as [PlatformName, ...PlatformName[]], { error: `must be one of: ${PLATFORM_NAMES.join(', ')}` }))
    .min(1, 'must name at least one platform')
    .transform(orderedPlan)
    .optional(),
});
export type ClientCreatedData = z.infer<typeof ClientCreatedData>;

export const ClientChurnedData = z.object({ clientId: ClientId, reason: optionalText });
export const ClientReactivatedData = z.object({ clientId: ClientId });

export const CRM_EVENT_TYPES = ['client.created', 'client.churned', 'client.reactivated'] as const;

const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });

/** A CRM delivery, in the Standard Webhooks payload convention: `{ type, timestamp, data }`. */
export const CrmEvent = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('client.created'), timestamp, data: ClientCreatedData }),
    z.object({ type: z.literal('client.churned'), timestamp, data: ClientChurnedData }),
    z.object({ type: z.literal('client.reactivated'), timestamp, data: ClientReactivatedData }),
  ],
  {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const type = (issue.input as { type?: unknown } | undefined)?.type;
      const expected = `expected one of: ${CRM_EVENT_TYPES.join(', ')}`;
      return type === undefined ? `is required; ${expected}` : `unknown event type ${JSON.stringify(type)}; ${expected}`;
    },
  },
);
export type CrmEvent = z.infer<typeof CrmEvent>;
