import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes on every onboarding and offboarding, so ops can find a client in the Temporal UI.
 * No email or other personal data: search attributes are not encrypted. (Not `Status`: the UI has its own.)
 */
export const CrmClientId = defineSearchAttributeKey('CrmClientId', SearchAttributeType.KEYWORD);
export const OnboardingDomain = defineSearchAttributeKey('OnboardingDomain', SearchAttributeType.KEYWORD);
export const OnboardingStatus = defineSearchAttributeKey('OnboardingStatus', SearchAttributeType.KEYWORD);
export const NeedsAttention = defineSearchAttributeKey('NeedsAttention', SearchAttributeType.BOOL);
/** The platforms of the client's plan (`OnboardingPlatforms = 'netlify'`); set at start, absent on runs from before plans. */
export const OnboardingPlatforms = defineSearchAttributeKey('OnboardingPlatforms', SearchAttributeType.KEYWORD_LIST);

export const ONBOARDING_SEARCH_ATTRIBUTES = [CrmClientId, OnboardingDomain, OnboardingStatus, NeedsAttention, OnboardingPlatforms];

/** Search attributes as a visibility or describe answer holds them, undecoded. */
export type RawSearchAttributes = Record<string, { data?: Uint8Array | null } | null | undefined> | null | undefined;

/**
 * One search attribute's value from a raw answer: plain JSON payloads, never encrypted, so no codec (and no key) is
 * needed to read them; undefined when absent or unreadable.
 */
export function rawSearchAttribute(fields: RawSearchAttributes, name: string): unknown {
  const data = fields?.[name]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
