import { z } from 'zod';
import { ClientCreatedData } from './crm-events.js';

/** Client data an operator may correct when retrying (everything but the CRM's own id). */
export const ClientCorrections = ClientCreatedData.omit({ clientId: true }).partial().strict();
export type ClientCorrections = z.infer<typeof ClientCorrections>;

export const RetryRequest = z
  .object({
    corrections: ClientCorrections.optional(),
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .strict();
export type RetryRequest = z.infer<typeof RetryRequest>;

/** A WordPress key ops regenerated in NextNet's dashboard after it was lost. */
export const StoreSecretRequest = z.object({ value: z.string().trim().min(8, 'must be the whole key').max(1000) }).strict();
export type StoreSecretRequest = z.infer<typeof StoreSecretRequest>;

export const ONBOARDING_PHASES = ['registering', 'awaiting-dns', 'sending-signup-email', 'completed', 'failed', 'cancelled', 'offboarding', 'offboarded', 'reactivated'] as const;

export const ListOnboardingsQuery = z
  .object({
    status: z.enum(ONBOARDING_PHASES).optional(),
    needsAttention: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    domain: z.string().trim().toLowerCase().min(1).optional(),
    clientId: z.string().trim().min(1).optional(),
    closedSince: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
    pageSize: z.coerce.number().int().min(1).max(200).default(50),
    pageToken: z.string().min(1).optional(),
  })
  .strict();
export type ListOnboardingsQuery = z.infer<typeof ListOnboardingsQuery>;

export const OnboardingListItem = z.object({
  onboardingId: z.string(),
  workflowId: z.string(),
  kind: z.enum(['onboarding', 'offboarding']),
  clientId: z.string().nullable(),
  domain: z.string().nullable(),
  status: z.string().nullable(),
  needsAttention: z.boolean(),
  workflowStatus: z.string(),
  startedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
});

export const OnboardingList = z.object({
  items: z.array(OnboardingListItem),
  nextPageToken: z.string().nullable(),
});

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});
