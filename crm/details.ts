import { z } from 'zod';
import { DomainName } from '../api/crm-events.js';
import type { CrmClientDetails } from './types.js';

/**
 * Turning what a CRM record holds into the client's details: the same rules for every CRM, and a problem for each
 * field that is missing or unusable, saying where in that CRM to fix it.
 */

const Email = z.string().trim().pipe(z.email());

/** A website as people type it (`https://www.acme.com/about`, `www.acme.com`, `acme.com`) as the bare domain. */
export function domainOfWebsite(raw: string): { domain: string } | { problem: string } {
  let host = raw.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) {
    try {
      host = new URL(host).hostname;
    } catch {
      return { problem: 'is not a web address' };
    }
  }
  host = host.replace(/[/?#].*$/, '').replace(/^www\./i, '');
  const parsed = DomainName.safeParse(host);
  return parsed.success ? { domain: parsed.data } : { problem: parsed.error.issues[0]?.message ?? 'is not a valid domain name' };
}

/** Builds the details; `where` says, per field, what is missing and where to fill it in (a full sentence each). */
export function clientDetails(found: { email?: string | null; name?: string | null; website?: string | null; websiteSource?: string }, where: {
  record: string;
  email: string;
  website: string;
}): CrmClientDetails {
  const problems: CrmClientDetails['problems'] = [];
  const details: CrmClientDetails = { problems };
  const name = found.name?.trim();
  if (name) details.name = name;

  const email = found.email?.trim();
  if (!email) {
    problems.push({ field: 'email', message: `${where.record} has no email: ${where.email}` });
  } else {
    const parsed = Email.safeParse(email);
    if (parsed.success) details.email = parsed.data.toLowerCase();
    else problems.push({ field: 'email', message: `${where.record} has an email that is not a valid address (${quoted(email)}): ${where.email}` });
  }

  const website = found.website?.trim();
  if (!website) {
    problems.push({ field: 'domain', message: `${where.record} has no website: ${where.website}` });
  } else {
    const domain = domainOfWebsite(website);
    if ('domain' in domain) details.domain = domain.domain;
    else problems.push({ field: 'domain', message: `${where.record} has a website that is not a usable domain (${quoted(website)}${found.websiteSource ? ` in ${found.websiteSource}` : ''} ${domain.problem}): ${where.website}` });
  }
  return details;
}

/** A CRM value in a message: shortened, on one line. */
function quoted(value: string): string {
  const line = value.replace(/\s+/g, ' ');
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line);
}

/** "Ada Lovelace" from the parts a CRM keeps; undefined when it has none. */
export function personName(...parts: (string | null | undefined)[]): string | undefined {
  const name = parts.map((part) => part?.trim()).filter(Boolean).join(' ');
  return name || undefined;
}
