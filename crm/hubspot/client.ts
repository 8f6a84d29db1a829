import { z } from 'zod';
import { ResellerApiError } from '../../platforms/api-errors.js';
import { clientDetails, personName } from '../details.js';
import { CrmHttp, describeCrmErrorBody, headerMs } from '../http.js';
import type { CrmApi, CrmClientDetails, CrmProgress, CrmRecord } from '../types.js';

/**
 * HubSpot's CRM API (https://api.hubapi.com) with a private app's access token (`Authorization: Bearer`): scopes
 * crm.objects.contacts.read/write, crm.objects.companies.read, crm.objects.deals.read and crm.schemas.contacts.write
 * (to create the onboarding properties). The token belongs to one portal, so one engine serves one HubSpot portal.
 *
 * Write-back: three contact properties in the group `onboarding`, created on first use.
 */
export interface HubSpotClientOptions {
  baseUrl: string;
  accessToken: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** The contact properties the onboarding writes, as HubSpot shows them. */
export const HUBSPOT_PROGRESS_PROPERTIES = [
  { name: 'onboarding_status', label: 'Onboarding status', type: 'string', fieldType: 'text', description: 'Where the client onboarding stands (registering, awaiting-dns, completed, needs-attention…).' },
  { name: 'onboarding_needs_attention', label: 'Onboarding needs attention', type: 'string', fieldType: 'textarea', description: 'Why a person is needed by the onboarding, and what to do; empty when nothing is wrong.' },
  { name: 'onboarding_site_url', label: 'Onboarding site URL', type: 'string', fieldType: 'text', description: "The client's live site, once there is one." },
] as const;
export const HUBSPOT_PROPERTY_GROUP = { name: 'onboarding', label: 'Onboarding', displayOrder: -1 } as const;

const Contact = z.looseObject({
  id: z.string(),
  properties: z.record(z.string(), z.string().nullish()),
  associations: z
    .looseObject({
      companies: z.looseObject({ results: z.array(z.looseObject({ id: z.union([z.string(), z.number()]).transform(String), type: z.string().nullish() })) }).nullish(),
    })
    .nullish(),
});
const Company = z.looseObject({ id: z.string(), properties: z.record(z.string(), z.string().nullish()) });
const DealContacts = z.looseObject({
  results: z.array(
    z.looseObject({
      toObjectId: z.union([z.string(), z.number()]).transform(String),
      associationTypes: z.array(z.looseObject({ label: z.string().nullish(), typeId: z.number().nullish() })).nullish(),
    }),
  ),
});

export class HubSpotClient implements CrmApi {
  readonly source = 'hubspot' as const;
  private readonly http: CrmHttp;

  constructor(options: HubSpotClientOptions) {
    this.http = new CrmHttp({
      source: 'hubspot',
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      timeoutMs: options.timeoutMs,
      headers: { Authorization: `Bearer ${options.accessToken}` },
      secrets: [options.accessToken],
      settings: { credentials: 'HUBSPOT_ACCESS_TOKEN', url: 'HUBSPOT_API_URL' },
      // HubSpot's 429 often has no Retry-After; its window (1 s or 10 s) is the longest wait it asks for.
      rateLimitDelayMs: (headers) => headerMs(headers, 'x-hubspot-ratelimit-interval-milliseconds'),
      fetch: options.fetch,
    });
  }

  async readClient(record: CrmRecord): Promise<CrmClientDetails> {
    const contactId = record.client.id;
    const contact = await this.http.call(
      'GET',
      `/crm/v3/objects/contacts/${encodeURIComponent(contactId)}?properties=email,firstname,lastname,website,company&associations=companies`,
      Contact,
      { notFound: `the HubSpot contact ${contactId} does not exist in portal ${record.account} (deleted or merged?)` },
    );
    const { properties } = contact;
    let website = properties['website'];
    let websiteSource = 'Website URL on the contact';
    let companyName: string | null | undefined;
    if (!website?.trim()) {
      const company = await this.primaryCompany(contact);
      companyName = company?.properties['name'];
      website = company?.properties['domain'] || company?.properties['website'];
      websiteSource = `the company ${company?.id ?? ''}`;
    }
    return clientDetails(
      { email: properties['email'], name: personName(properties['firstname'], properties['lastname']) ?? properties['company'] ?? companyName, website, websiteSource },
      {
        record: `the HubSpot contact ${contactId}`,
        email: 'fill in Email on the contact',
        website: 'fill in Website URL on the contact, or Company domain name on its primary company',
      },
    );
  }

  /** The contact's primary company (HubSpot's `contact_to_company` association), else its first; null when none. */
  private async primaryCompany(contact: z.output<typeof Contact>): Promise<z.output<typeof Company> | null> {
    const results = contact.associations?.companies?.results ?? [];
    const chosen = results.find((association) => association.type === 'contact_to_company') ?? results[0];
    if (!chosen) return null;
    try {
      return await this.http.call('GET', `/crm/v3/objects/companies/${encodeURIComponent(chosen.id)}?properties=domain,website,name`, Company);
    } catch (err) {
      // An association to a company deleted since: the contact simply has no company.
      if (err instanceof ResellerApiError && err.kind === 'not-found') return null;
      throw err;
    }
  }

  /** The won deal's contact: one labelled primary, else the first HubSpot lists; null when it has none. */
  async contactOfDeal(account: string, dealId: string): Promise<string | null> {
    const { results } = await this.http.call('GET', `/crm/v4/objects/deals/${encodeURIComponent(dealId)}/associations/contacts`, DealContacts, {
      notFound: `the HubSpot deal ${dealId} does not exist in portal ${account} (deleted?)`,
    });
    const primary = results.find((association) => association.associationTypes?.some((type) => /primary/i.test(type.label ?? '')));
    return (primary ?? results[0])?.toObjectId ?? null;
  }

  /**
   * Patches the three onboarding properties; HubSpot answers PROPERTY_DOESNT_EXIST until they exist, so the first
   * write creates the group and the properties (409 = someone made them already) and patches again.
   */
  async writeProgress(record: CrmRecord, progress: CrmProgress): Promise<void> {
    const body = {
      properties: {
        onboarding_status: progress.status,
        // An empty value clears a HubSpot property.
        onboarding_needs_attention: progress.needsAttention ?? '',
        onboarding_site_url: progress.siteUrl ?? '',
      },
    };
    const contactId = record.client.id;
    const path = `/crm/v3/objects/contacts/${encodeURIComponent(contactId)}`;
    const notFound = `the HubSpot contact ${contactId} does not exist in portal ${record.account} (deleted or merged?)`;
    const first = await this.http.send('PATCH', path, { body, accept: [400], notFound });
    if (first.status !== 400) return;
    if (!JSON.stringify(first.json ?? '').includes('PROPERTY_DOESNT_EXIST')) {
      throw new ResellerApiError('rejected', `HubSpot PATCH /crm/v3/objects/contacts/${contactId} answered 400: ${describeCrmErrorBody(JSON.stringify(first.json ?? ''))}`, 400);
    }
    await this.createProgressProperties();
    await this.http.send('PATCH', path, { body, notFound });
  }

  private async createProgressProperties(): Promise<void> {
    await this.http.send('POST', '/crm/v3/properties/contacts/groups', { body: HUBSPOT_PROPERTY_GROUP, accept: [409] });
    for (const property of HUBSPOT_PROGRESS_PROPERTIES) {
      await this.http.send('POST', '/crm/v3/properties/contacts', { body: { ...property, groupName: HUBSPOT_PROPERTY_GROUP.name }, accept: [409] });
    }
  }
}
