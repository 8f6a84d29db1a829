import { z } from 'zod';
import { ResellerApiError } from '../../platforms/api-errors.js';
import { clientDetails } from '../details.js';
import { CrmHttp, headerSecondsMs } from '../http.js';
import type { CrmApi, CrmClientDetails, CrmProgress, CrmRecord } from '../types.js';

/**
 * Pipedrive's API (https://api.pipedrive.com, or the company's own https://<company>.pipedrive.com) with an API token
 * in the `x-api-token` header. A token belongs to one Pipedrive company, so one engine serves one company.
 *
 * Where the website is: Pipedrive has no standard website field on persons or organizations, so the client's website
 * is read from a custom field of the person's organization whose key is a setting (PIPEDRIVE_WEBSITE_FIELD, the
 * field's 40-character key from Settings → Data fields, or GET /v1/organizationFields). A top-level field of that
 * name counts too, should Pipedrive add one.
 *
 * Write-back: a note on the person (and the deal, when a deal started the onboarding) when the progress changes,
 * and the deal's custom field PIPEDRIVE_DEAL_STATUS_FIELD set to the status (when configured).
 */
export interface PipedriveClientOptions {
  baseUrl: string;
  apiToken: string;
  timeoutMs: number;
  /** Key of the organization field holding the client's website; unset: no domain is read from Pipedrive. */
  websiteField: string | undefined;
  /** Key of the deal field the onboarding status is written to; unset: only notes are written. */
  dealStatusField: string | undefined;
  fetch?: typeof fetch;
}

const Id = z.union([z.string(), z.number()]).transform(String);
const CustomFields = z.record(z.string(), z.unknown()).nullish();

const Person = z.looseObject({
  id: Id,
  name: z.string().nullish(),
  emails: z.array(z.looseObject({ value: z.string().nullish(), primary: z.boolean().nullish() })).nullish(),
  org_id: Id.nullish(),
  custom_fields: CustomFields,
});
const Organization = z.looseObject({ id: Id, name: z.string().nullish(), custom_fields: CustomFields });
const Deal = z.looseObject({ id: Id, person_id: Id.nullish() });
const Envelope = <T extends z.ZodType>(data: T) => z.looseObject({ success: z.boolean().optional(), data });
const Notes = z.looseObject({ data: z.array(z.looseObject({ id: Id, content: z.string().nullish() })).nullish() });

/** Notes the onboarding wrote start with this, so the latest one can be found and compared. */
export const PIPEDRIVE_NOTE_HEADING = 'Onboarding status:';

export class PipedriveClient implements CrmApi {
  readonly source = 'pipedrive' as const;
  private readonly http: CrmHttp;

  constructor(private readonly options: PipedriveClientOptions) {
    this.http = new CrmHttp({
      source: 'pipedrive',
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      timeoutMs: options.timeoutMs,
      headers: { 'x-api-token': options.apiToken },
      secrets: [options.apiToken],
      settings: { credentials: 'PIPEDRIVE_API_TOKEN', url: 'PIPEDRIVE_API_URL' },
      rateLimitDelayMs: (headers) => headerSecondsMs(headers, 'x-ratelimit-reset'),
      fetch: options.fetch,
    });
  }

  async readClient(record: CrmRecord): Promise<CrmClientDetails> {
    const personId = record.client.id;
    const { data: person } = await this.http.call('GET', `/api/v2/persons/${encodeURIComponent(personId)}`, Envelope(Person), {
      notFound: `the Pipedrive person ${personId} does not exist (deleted or merged?)`,
    });
    const emails = (person.emails ?? []).filter((email) => email.value?.trim());
    const email = (emails.find((candidate) => candidate.primary) ?? emails[0])?.value;

    const field = this.options.websiteField;
    let website: string | undefined;
    let where: string;
    if (!field) {
      where = "set PIPEDRIVE_WEBSITE_FIELD on the engine to the key of the organization field that holds the client's website";
    } else if (!person.org_id) {
      where = "link the person to an organization and fill in the organization's website field";
    } else {
      const organization = await this.organization(person.org_id);
      website = organization ? fieldText(organization, field) : undefined;
      where = organization
        ? `fill in the website field (key ${field}) on its organization ${organization.name ? `"${organization.name}"` : organization.id}`
        : `its organization ${person.org_id} no longer exists: link the person to an organization and fill in the organization's website field`;
    }
    return clientDetails(
      { email, name: person.name, website, websiteSource: 'the organization' },
      { record: `the Pipedrive person ${personId}`, email: 'fill in Email on the person', website: where },
    );
  }

  private async organization(orgId: string): Promise<z.output<typeof Organization> | null> {
    try {
      return (await this.http.call('GET', `/api/v2/organizations/${encodeURIComponent(orgId)}`, Envelope(Organization))).data;
    } catch (err) {
      if (err instanceof ResellerApiError && err.kind === 'not-found') return null;
      throw err;
    }
  }

  /** A won deal's person (Pipedrive deals have one `person_id`); null when it has none. */
  async contactOfDeal(_account: string, dealId: string): Promise<string | null> {
    const { data: deal } = await this.http.call('GET', `/api/v2/deals/${encodeURIComponent(dealId)}`, Envelope(Deal), {
      notFound: `the Pipedrive deal ${dealId} does not exist (deleted?)`,
    });
    return deal.person_id ?? null;
  }

  /**
   * Sets the deal's status field (idempotent), then adds a note when the progress differs from the last note the
   * onboarding wrote on this person: the same progress twice leaves one note.
   */
  async writeProgress(record: CrmRecord, progress: CrmProgress): Promise<void> {
    const personId = record.client.id;
    const dealId = record.trigger?.type === 'deal' ? record.trigger.id : undefined;
    if (dealId && this.options.dealStatusField) {
      await this.http.send('PATCH', `/api/v2/deals/${encodeURIComponent(dealId)}`, {
        body: { custom_fields: { [this.options.dealStatusField]: progress.status } },
        notFound: `the Pipedrive deal ${dealId} does not exist (deleted?)`,
      });
    }
    const content = noteContent(progress);
    const { data: notes } = await this.http.call(
      'GET',
      `/api/v1/notes?person_id=${encodeURIComponent(personId)}&sort=${encodeURIComponent('add_time DESC')}&limit=50`,
      Notes,
      { notFound: `the Pipedrive person ${personId} does not exist (deleted or merged?)` },
    );
    const latest = (notes ?? []).find((note) => note.content?.startsWith(PIPEDRIVE_NOTE_HEADING));
    if (latest?.content && plainText(latest.content) === plainText(content)) return;
    await this.http.send('POST', '/api/v1/notes', {
      body: { content, person_id: Number(personId), ...(dealId ? { deal_id: Number(dealId) } : {}) },
      notFound: `the Pipedrive person ${personId} does not exist (deleted or merged?)`,
    });
  }
}

/** One note per phase: the status, why a person is needed, the site, and the onboarding's id for ops. */
export function noteContent(progress: CrmProgress): string {
  return [
    `${PIPEDRIVE_NOTE_HEADING} ${escapeNote(progress.status)}`,
    ...(progress.needsAttention ? [`Needs attention: ${escapeNote(progress.needsAttention)}`] : []),
    ...(progress.siteUrl ? [`Site: ${escapeNote(progress.siteUrl)}`] : []),
    `Onboarding: ${escapeNote(progress.onboardingId)}`,
  ].join('<br>');
}

/** A note compared as text: Pipedrive may rewrite its HTML (`<br>` as `<br />`). */
function plainText(html: string): string {
  return html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Pipedrive notes are HTML. */
function escapeNote(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A field's value as text: a custom field under `custom_fields`, else a top-level field of that key. */
function fieldText(entity: { custom_fields?: Record<string, unknown> | null } & Record<string, unknown>, key: string): string | undefined {
  const value = entity.custom_fields?.[key] ?? entity[key];
  if (typeof value === 'string') return value;
  // Some custom field types come back as objects ({ value: ... }).
  if (value && typeof value === 'object' && typeof (value as { value?: unknown }).value === 'string') return (value as { value: string }).value;
  return undefined;
}
