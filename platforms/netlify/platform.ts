import type { PlatformDeclaration } from '../types.js';

/** Netlify's reseller program: the client's own user (and access token) and a site on the client's domain. */
export const netlifyPlatform = {
  name: 'netlify',
  label: 'Netlify',
  offers: 'website hosting',
  // Netlify logs the same user in anew on every `POST /access_tokens`, so a lost token is replaced by calling again.
  secrets: [{ name: 'netlify-access-token', label: 'Netlify access token', whenLost: 'call-again' }],
} as const satisfies PlatformDeclaration;

/** One DNS record of the client's domain, as the engine's own check found it, against what Netlify needs. */
export interface DnsRecordCheck {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME';
  found: string[];
  expected: string;
  ok: boolean;
  /** What to change, in one sentence ("www.acme.com is a CNAME to old-host.example; point it at acme-com.netlify.app"). */
  fix: string | null;
}

/** What an onboarding knows of the client at Netlify. Never a token: `tokenReference` points into the vault. */
export interface NetlifyProgress {
  userId: string | null;
  tokenReference: string | null;
  site: NetlifySiteRef | null;
  tls: { state: string; requestedAt: string | null; issuedAt: string | null; detail: string | null } | null;
}

export interface NetlifySiteRef {
  id: string;
  name: string;
  customDomain: string;
  url: string;
  sslUrl: string | null;
  adminUrl: string | null;
  /** True when an earlier attempt (or someone at the agency) had already made it and this one adopted it. */
  adopted: boolean;
}

/**
 * The task queue of Netlify site creations: workers serve it with a per-second limit that Temporal enforces across
 * every worker of the queue, so a batch of new clients never hammers Netlify's tight site-creation limit.
 */
export function siteCreationQueueFor(taskQueue: string): string {
  return `${taskQueue}-netlify-sites`;
}
