import { z } from 'zod';
import { clientDetails, personName } from '../details.js';
import { CrmHttp, headerMs } from '../http.js';
import type { CrmApi, CrmClientDetails, CrmProgress, CrmRecord } from '../types.js';

/**
 * HighLevel's LeadConnector API (https://services.leadconnectorhq.com) with a sub-account's Private Integration token
 * (`Authorization: Bearer`, scopes contacts.readonly and contacts.write) and the `Version: 2021-07-28` header. A
 * sub-account token reaches one location, so one engine serves one location.
 *
 * Write-back: the tag `onboarding:<status>` (older `onboarding:` tags removed, other tags left alone) and, when
 * GHL_STATUS_FIELD_ID names one, a custom field holding a one-line summary.
 */
export interface GoHighLevelClientOptions {
  baseUrl: string;
  apiToken: string;
  timeoutMs: number;
  /** Id of the location's custom field the summary goes to; unset: tags only. */
  statusFieldId: string | undefined;
  fetch?: typeof fetch;
}

export const GOHIGHLEVEL_API_VERSION = '2021-07-28';
export const GOHIGHLEVEL_TAG_PREFIX = 'onboarding:';

const Contact = z.looseObject({
  id: z.string(),
  locationId: z.string().nullish(),
  email: z.string().nullish(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  contactName: z.string().nullish(),
  companyName: z.string().nullish(),
  website: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  customFields: z.array(z.looseObject({ id: z.string(), value: z.unknown() })).nullish(),
});
const ContactAnswer = z.looseObject({ contact: Contact });
const OpportunityAnswer = z.looseObject({
  opportunity: z.looseObject({ id: z.string(), contactId: z.string().nullish(), contact: z.looseObject({ id: z.string() }).nullish() }),
});

export class GoHighLevelClient implements CrmApi {
  readonly source = 'gohighlevel' as const;
  private readonly http: CrmHttp;

  constructor(private readonly options: GoHighLevelClientOptions) {
    this.http = new CrmHttp({
      source: 'gohighlevel',
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      timeoutMs: options.timeoutMs,
      headers: { Authorization: `Bearer ${options.apiToken}`, Version: GOHIGHLEVEL_API_VERSION },
      secrets: [options.apiToken],
      settings: { credentials: 'GHL_API_TOKEN', url: 'GHL_API_URL' },
      rateLimitDelayMs: (headers) => headerMs(headers, 'x-ratelimit-interval-milliseconds'),
      fetch: options.fetch,
    });
  }

  private async contact(record: CrmRecord): Promise<z.output<typeof Contact>> {
    const contactId = record.client.id;
    const { contact } = await this.http.call('GET', `/contacts/${encodeURIComponent(contactId)}`, ContactAnswer, {
      notFound: `the GoHighLevel contact ${contactId} does not exist in location ${record.account} (deleted or merged?)`,
    });
    return contact;
  }

  async readClient(record: CrmRecord): Promise<CrmClientDetails> {
    const contact = await this.contact(record);
    return clientDetails(
      { email: contact.email, name: personName(contact.firstName, contact.lastName) ?? contact.contactName ?? contact.companyName, website: contact.website, websiteSource: 'Website on the contact' },
      { record: `the GoHighLevel contact ${record.client.id}`, email: 'fill in Email on the contact', website: 'fill in Website on the contact' },
    );
  }

  /** A won opportunity's contact; null when it has none. */
  async contactOfDeal(account: string, opportunityId: string): Promise<string | null> {
    const { opportunity } = await this.http.call('GET', `/opportunities/${encodeURIComponent(opportunityId)}`, OpportunityAnswer, {
      notFound: `the GoHighLevel opportunity ${opportunityId} does not exist in location ${account} (deleted?)`,
    });
    return opportunity.contactId ?? opportunity.contact?.id ?? null;
  }

  /** Reads the contact first, so each write happens only when it changes something. */
  async writeProgress(record: CrmRecord, progress: CrmProgress): Promise<void> {
    const contact = await this.contact(record);
    const path = `/contacts/${encodeURIComponent(contact.id)}`;
    const tag = `${GOHIGHLEVEL_TAG_PREFIX}${progress.status}`.toLowerCase();
    const tags = contact.tags ?? [];
    const older = tags.filter((existing) => existing.toLowerCase().startsWith(GOHIGHLEVEL_TAG_PREFIX) && existing.toLowerCase() !== tag);
    if (older.length > 0) await this.http.send('DELETE', `${path}/tags`, { body: { tags: older } });
    if (!tags.some((existing) => existing.toLowerCase() === tag)) await this.http.send('POST', `${path}/tags`, { body: { tags: [tag] } });

    const fieldId = this.options.statusFieldId;
    if (!fieldId) return;
    const summary = progressSummary(progress);
    const current = contact.customFields?.find((field) => field.id === fieldId)?.value;
    if (current !== summary) await this.http.send('PUT', path, { body: { customFields: [{ id: fieldId, field_value: summary }] } });
  }
}

/** The custom field's text: the status, then why a person is needed or where the site is. */
export function progressSummary(progress: CrmProgress): string {
  return [progress.status, progress.needsAttention, progress.siteUrl].filter(Boolean).join(' — ');
}
