import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lookup, makeResolver, normalizeName } from './dns-diagnosis.js';

/**
 * Checks, for real, the reseller account settings Netlify cannot check for us before switching them on: the
 * preview domain's wildcard CNAME, the notification sender domain's Mandrill SPF and DKIM records, and the custom
 * HTML pages (404, form success, password) that are mailed to Netlify to install.
 */
export interface ResellerCheckOptions {
  /** The reseller's own preview domain, e.g. `sites.agency.example` (`NETLIFY_PREVIEW_DOMAIN`). */
  previewDomain?: string;
  /** The reseller account's name, as in `<name>.r.netlify.com` (`NETLIFY_RESELLER_NAME`). */
  resellerName?: string;
  /** The domain notification emails are sent from (`NETLIFY_NOTIFICATION_DOMAIN`). */
  notificationSenderDomain?: string;
  /** Folder holding `404.html`, `form-success.html` and `password.html`. */
  pagesDir: string;
  /** DNS servers to ask, `ip` or `ip:port`; empty or undefined asks the system's resolvers. */
  resolvers?: string[];
  timeoutMs?: number;
}

export interface ResellerCheckItem {
  check: string;
  ok: boolean;
  detail: string;
  fix: string | null;
  /** True when DNS did not answer (timeout, SERVFAIL): the setting may be right; check again. */
  transient?: boolean;
}

export interface ResellerCheckResult {
  ok: boolean;
  items: ResellerCheckItem[];
}

/** Mandrill's SPF include, which a notification sender domain's SPF record must carry. */
export const MANDRILL_SPF_INCLUDE = 'spf.mandrillapp.com';
/** Where Mandrill's DKIM key is published under the sender domain. */
export const MANDRILL_DKIM_SELECTOR = 'mandrill';
export const CUSTOM_PAGES = ['404.html', 'form-success.html', 'password.html'] as const;

export async function checkResellerSettings(options: ResellerCheckOptions): Promise<ResellerCheckResult> {
  const resolver = makeResolver(options.resolvers, options.timeoutMs);
  const items = (
    await Promise.all([
      checkPreviewDomain(resolver, options.previewDomain, options.resellerName),
      checkNotificationDomain(resolver, options.notificationSenderDomain),
      ...CUSTOM_PAGES.map((page) => checkCustomPage(options.pagesDir, page)),
    ])
  ).flat();
  return { ok: items.every((item) => item.ok), items };
}

type Resolver = ReturnType<typeof makeResolver>;

function unresolved(check: string, name: string, code: string): ResellerCheckItem {
  return { check, ok: false, detail: `${name} could not be resolved (${code})`, fix: 'check again in a while; the record may be right', transient: true };
}

async function checkPreviewDomain(resolver: Resolver, previewDomain: string | undefined, resellerName: string | undefined): Promise<ResellerCheckItem[]> {
  const check = 'preview domain wildcard CNAME';
  const items: ResellerCheckItem[] = [];
  if (!resellerName?.trim()) {
    items.push({
      check: 'reseller name',
      ok: false,
      detail: 'the reseller name is not configured',
      fix: 'set NETLIFY_RESELLER_NAME to the reseller account name (as in <name>.r.netlify.com)',
    });
  }
  if (!previewDomain?.trim()) {
    items.push({
      check,
      ok: false,
      detail: 'no preview domain is configured, so sites are previewed under netlify.app',
      fix: 'set NETLIFY_PREVIEW_DOMAIN to the reseller preview domain (e.g. sites.agency.example)',
    });
    return items;
  }

  const domain = normalizeName(previewDomain);
  // A name nobody would create on purpose: it can only be answered by the wildcard.
  const probe = `check-${randomBytes(6).toString('hex')}.${domain}`;
  const found = await lookup(resolver, probe, 'CNAME');
  const target = resellerName?.trim() ? `${normalizeName(resellerName)}.r.netlify.com` : undefined;
  const wanted = target ?? '<reseller-name>.r.netlify.com';
  if (found.error) {
    items.push(unresolved(check, probe, found.error));
  } else if (found.values.length === 0) {
    items.push({ check, ok: false, detail: `${probe} has no CNAME, so *.${domain} has no wildcard CNAME`, fix: `add a CNAME *.${domain} pointing at ${wanted}` });
  } else if (!target) {
    items.push({ check, ok: false, detail: `*.${domain} is a CNAME to ${found.values.join(', ')}; without NETLIFY_RESELLER_NAME it cannot be checked`, fix: 'set NETLIFY_RESELLER_NAME' });
  } else if (found.values.every((value) => value === target)) {
    items.push({ check, ok: true, detail: `*.${domain} is a CNAME to ${target}`, fix: null });
  } else {
    items.push({ check, ok: false, detail: `*.${domain} is a CNAME to ${found.values.join(', ')}`, fix: `point the CNAME *.${domain} at ${target}` });
  }
  return items;
}

async function checkNotificationDomain(resolver: Resolver, senderDomain: string | undefined): Promise<ResellerCheckItem[]> {
  if (!senderDomain?.trim()) {
    return [
      {
        check: 'notification sender domain',
        ok: false,
        detail: 'no notification sender domain is configured, so notification emails would come from Netlify',
        fix: 'set NETLIFY_NOTIFICATION_DOMAIN to the domain notification emails are sent from',
      },
    ];
  }
  const domain = normalizeName(senderDomain);
  const dkimName = `${MANDRILL_DKIM_SELECTOR}._domainkey.${domain}`;
  const [txt, dkim] = await Promise.all([lookup(resolver, domain, 'TXT'), lookup(resolver, dkimName, 'TXT')]);
  const items: ResellerCheckItem[] = [];

  const spfCheck = `SPF of ${domain}`;
  const spf = txt.values.filter((value) => /^v=spf1(\s|$)/i.test(value.trim()));
  const includesMandrill = (record: string) =>
    record
      .toLowerCase()
      .split(/\s+/)
      .some((term) => term.replace(/^[+~?-]/, '') === `include:${MANDRILL_SPF_INCLUDE}`);
  if (txt.error) items.push(unresolved(spfCheck, domain, txt.error));
  else if (spf.length === 0) {
    items.push({ check: spfCheck, ok: false, detail: `${domain} has no SPF record`, fix: `add a TXT record at ${domain}: "v=spf1 include:${MANDRILL_SPF_INCLUDE} ~all"` });
  } else if (spf.length > 1) {
    items.push({ check: spfCheck, ok: false, detail: `${domain} has ${spf.length} SPF records, which makes SPF fail`, fix: `merge them into one SPF record that includes include:${MANDRILL_SPF_INCLUDE}` });
  } else if (!includesMandrill(spf[0] ?? '')) {
    items.push({ check: spfCheck, ok: false, detail: `${domain}'s SPF record "${spf[0]}" does not include ${MANDRILL_SPF_INCLUDE}`, fix: `add include:${MANDRILL_SPF_INCLUDE} to the SPF record of ${domain}, before its "all"` });
  } else {
    items.push({ check: spfCheck, ok: true, detail: `${domain}'s SPF record includes ${MANDRILL_SPF_INCLUDE}`, fix: null });
  }

  const dkimCheck = `DKIM of ${domain}`;
  const key = dkim.values.find((value) => /(^|;)\s*v\s*=\s*DKIM1\s*(;|$)/i.test(value));
  if (dkim.error) items.push(unresolved(dkimCheck, dkimName, dkim.error));
  else if (!key) {
    items.push({
      check: dkimCheck,
      ok: false,
      detail: dkim.values.length === 0 ? `${dkimName} has no TXT record` : `${dkimName} has TXT records but none with v=DKIM1`,
      fix: `add the TXT record ${dkimName} with the DKIM key Mandrill gives for ${domain} ("v=DKIM1; k=rsa; p=...")`,
    });
  } else if (!/(^|;)\s*p\s*=\s*[A-Za-z0-9+/=]{16,}/.test(key)) {
    items.push({ check: dkimCheck, ok: false, detail: `${dkimName} has a DKIM record without a public key (p=)`, fix: `put the full DKIM key Mandrill gives for ${domain} into ${dkimName}` });
  } else {
    items.push({ check: dkimCheck, ok: true, detail: `${dkimName} has a DKIM key`, fix: null });
  }
  return items;
}

async function checkCustomPage(pagesDir: string, page: (typeof CUSTOM_PAGES)[number]): Promise<ResellerCheckItem> {
  const check = `custom page ${page}`;
  const path = join(pagesDir, page);
  let html: string;
  try {
    html = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      check,
      ok: false,
      detail: code === 'ENOENT' ? `${path} does not exist` : `${path} could not be read (${code ?? String(err)})`,
      fix: `write ${page} into ${pagesDir}`,
    };
  }
  if (html.trim() === '') return { check, ok: false, detail: `${path} is empty`, fix: `write the page into ${path}` };

  const problems: string[] = [];
  const relative = relativeReferences(html);
  if (relative.length > 0) problems.push(`it links to ${relative.map((ref) => `"${ref}"`).join(', ')}, which would not load from a client's site`);
  if (page === 'password.html' && !hasPasswordForm(html)) problems.push('it has no <form> with an <input name="password">');
  if (problems.length === 0) return { check, ok: true, detail: `${page} is self-contained${page === 'password.html' ? ' and has the password form' : ''}`, fix: null };

  const fixes: string[] = [];
  if (relative.length > 0) fixes.push('inline those files (CSS and JS in the page, images as data: URLs) or link them by absolute https:// URLs');
  if (page === 'password.html' && !hasPasswordForm(html)) fixes.push('add <form method="post"> with <input type="password" name="password">');
  return { check, ok: false, detail: `${page}: ${problems.join('; ')}`, fix: fixes.join('; ') };
}

/** Every `src`, `href`, `srcset`, `poster`, CSS `url(...)` and `@import` target that would load relative to the page. */
export function relativeReferences(html: string): string[] {
  const source = html.replace(/<!--[\s\S]*?-->/g, '');
  const refs: string[] = [];
  // A start tag, with quoted attribute values that may hold ">" (inline SVG data: URLs do).
  for (const tag of source.matchAll(/<[a-z](?:"[^"]*"|'[^']*'|[^"'>])*>/gi)) {
    for (const match of tag[0].matchAll(/\s(src|href|srcset|poster)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi)) {
      const value = (match[2] ?? match[3] ?? match[4] ?? '').trim();
      if ((match[1] ?? '').toLowerCase() === 'srcset') refs.push(...value.split(',').map((candidate) => candidate.trim().split(/\s+/)[0] ?? ''));
      else refs.push(value);
    }
  }
  for (const match of source.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)/gi)) refs.push((match[1] ?? match[2] ?? match[3] ?? '').trim());
  for (const match of source.matchAll(/@import\s+(?:"([^"]*)"|'([^']*)')/gi)) refs.push((match[1] ?? match[2] ?? '').trim());
  return [...new Set(refs.filter((ref) => !isSelfContained(ref)))];
}

/** Absolute http(s) (or protocol-relative), inline `data:`, `mailto:`/`tel:`, or a fragment of the page itself. */
function isSelfContained(ref: string): boolean {
  return /^(https?:\/\/|\/\/|data:|mailto:|tel:|#)/i.test(ref);
}

/** A `<form>` holding an `<input>` named `password`. */
export function hasPasswordForm(html: string): boolean {
  const source = html.replace(/<!--[\s\S]*?-->/g, '');
  for (const form of source.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi)) {
    if (/<input\b[^>]*\sname\s*=\s*(?:"password"|'password'|password(?=[\s/>]))/i.test(form[1] ?? '')) return true;
  }
  return false;
}
