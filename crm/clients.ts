import type { Config } from '../config/index.js';
import { GoHighLevelClient } from './gohighlevel/client.js';
import { HubSpotClient } from './hubspot/client.js';
import { PipedriveClient } from './pipedrive/client.js';
import type { CrmApi, CrmSource } from './types.js';

/** The API client of each CRM the configuration has settings for (in development: all three, at the simulator). */
export function crmClientsFrom(settings: Config['crmApis']): Partial<Record<CrmSource, CrmApi>> {
  const { timeoutMs, hubspot, pipedrive, gohighlevel } = settings;
  return {
    ...(hubspot && { hubspot: new HubSpotClient({ baseUrl: hubspot.apiUrl, accessToken: hubspot.accessToken, timeoutMs }) }),
    ...(pipedrive && {
      pipedrive: new PipedriveClient({ baseUrl: pipedrive.apiUrl, apiToken: pipedrive.apiToken, websiteField: pipedrive.websiteField, dealStatusField: pipedrive.dealStatusField, timeoutMs }),
    }),
    ...(gohighlevel && { gohighlevel: new GoHighLevelClient({ baseUrl: gohighlevel.apiUrl, apiToken: gohighlevel.apiToken, statusFieldId: gohighlevel.statusFieldId, timeoutMs }) }),
  };
}
