import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkResellerSettings, hasPasswordForm, relativeReferences, type ResellerCheckItem } from '../platforms/netlify/reseller-check.js';
import { startDnsZone, type DnsZone } from './dns-zone.js';

const GOOD_PAGES = fileURLToPath(new URL('./fixtures/reseller-pages/good/', import.meta.url));
const BAD_PAGES = fileURLToPath(new URL('./fixtures/reseller-pages/bad/', import.meta.url));
const DKIM_KEY = 'p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCrLHiExVd55zd/IQ/J/mRwSRMAocV/hMB3jXwaHH36d9NaVynQFYV8NaWi';

let dns: DnsZone;

beforeAll(async () => {
  dns = await startDnsZone({
    // A reseller set up as Netlify asks.
    '*.sites.agency.example': { CNAME: 'agency.r.netlify.com' },
    'mail.agency.example': { TXT: [['v=spf1 include:_spf.google.com include:spf.mandrillapp.com ~all'], ['google-site-verification=abc123']] },
    'mandrill._domainkey.mail.agency.example': { TXT: [['v=DKIM1; k=rsa; ', DKIM_KEY]] },
    // Wrong in each way we know.
    '*.old-previews.example': { CNAME: 'someone-else.r.netlify.com' },
    'no-wildcard.example': { A: ['192.0.2.1'] },
    '*.flaky-previews.example': { fail: 'servfail' },
    'nospf.example': { TXT: [['google-site-verification=abc123']] },
    'nomandrill.example': { TXT: [['v=spf1 include:_spf.google.com ~all']] },
    'mandrill._domainkey.nomandrill.example': { TXT: [['v=DKIM1; k=rsa; p=']] },
    'twospf.example': { TXT: [['v=spf1 include:spf.mandrillapp.com ~all'], ['v=spf1 include:_spf.google.com ~all']] },
    'mandrill._domainkey.twospf.example': { TXT: [['k=rsa; ' + DKIM_KEY]] },
  });
});

afterAll(async () => {
  await dns?.close();
});

function check(options: { previewDomain?: string; resellerName?: string; notificationSenderDomain?: string; pagesDir?: string }) {
  return checkResellerSettings({ pagesDir: GOOD_PAGES, ...options, resolvers: [dns.resolver], timeoutMs: 2_000 });
}

function item(items: ResellerCheckItem[], name: string): ResellerCheckItem {
  const found = items.find((candidate) => candidate.check === name);
  if (!found) throw new Error(`no check named ${name}; got ${items.map((candidate) => candidate.check).join(', ')}`);
  return found;
}

describe('checking the reseller settings for real', () => {
  it('passes a reseller set up as Netlify asks', async () => {
    const result = await check({ previewDomain: 'sites.agency.example', resellerName: 'agency', notificationSenderDomain: 'mail.agency.example' });
    expect(result.items.filter((candidate) => !candidate.ok)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.items.map((candidate) => candidate.check)).toEqual([
      'preview domain wildcard CNAME',
      'SPF of mail.agency.example',
      'DKIM of mail.agency.example',
      'custom page 404.html',
      'custom page form-success.html',
      'custom page password.html',
    ]);
    expect(item(result.items, 'preview domain wildcard CNAME').detail).toBe('*.sites.agency.example is a CNAME to agency.r.netlify.com');
    expect(result.items.every((candidate) => candidate.fix === null)).toBe(true);
  });

  it('names the variable to set for each setting that is not configured', async () => {
    const result = await check({});
    expect(result.ok).toBe(false);
    expect(result.items.filter((candidate) => !candidate.ok).map((candidate) => [candidate.check, candidate.fix])).toEqual([
      ['reseller name', 'set NETLIFY_RESELLER_NAME to the reseller account name (as in <name>.r.netlify.com)'],
      ['preview domain wildcard CNAME', 'set NETLIFY_PREVIEW_DOMAIN to the reseller preview domain (e.g. sites.agency.example)'],
      ['notification sender domain', 'set NETLIFY_NOTIFICATION_DOMAIN to the domain notification emails are sent from'],
    ]);
  });

  it('tells where a wildcard CNAME that points elsewhere should point', async () => {
    const result = await check({ previewDomain: 'old-previews.example', resellerName: 'agency', notificationSenderDomain: 'mail.agency.example' });
    expect(item(result.items, 'preview domain wildcard CNAME')).toEqual({
      check: 'preview domain wildcard CNAME',
      ok: false,
      detail: '*.old-previews.example is a CNAME to someone-else.r.netlify.com',
      fix: 'point the CNAME *.old-previews.example at agency.r.netlify.com',
    });
  });

  it('finds a missing wildcard by asking for a name nobody made', async () => {
    const result = await check({ previewDomain: 'no-wildcard.example', resellerName: 'agency' });
    const preview = item(result.items, 'preview domain wildcard CNAME');
    expect(preview.ok).toBe(false);
    expect(preview.detail).toMatch(/^check-[0-9a-f]{12}\.no-wildcard\.example has no CNAME, so \*\.no-wildcard\.example has no wildcard CNAME$/);
    expect(preview.fix).toBe('add a CNAME *.no-wildcard.example pointing at agency.r.netlify.com');
  });

  it('reports DNS trouble as transient, not as a wrong setting', async () => {
    const result = await check({ previewDomain: 'flaky-previews.example', resellerName: 'agency' });
    expect(item(result.items, 'preview domain wildcard CNAME')).toMatchObject({ ok: false, transient: true, detail: expect.stringMatching(/could not be resolved \(ESERVFAIL\)$/) });
  });

  it('asks for an SPF record and a DKIM key when there are none', async () => {
    const result = await check({ notificationSenderDomain: 'nospf.example' });
    expect(item(result.items, 'SPF of nospf.example')).toMatchObject({
      ok: false,
      detail: 'nospf.example has no SPF record',
      fix: 'add a TXT record at nospf.example: "v=spf1 include:spf.mandrillapp.com ~all"',
    });
    expect(item(result.items, 'DKIM of nospf.example')).toMatchObject({
      ok: false,
      detail: 'mandrill._domainkey.nospf.example has no TXT record',
      fix: 'add the TXT record mandrill._domainkey.nospf.example with the DKIM key Mandrill gives for nospf.example ("v=DKIM1; k=rsa; p=...")',
    });
  });

  it("names an SPF record without Mandrill's include and a DKIM record without a key", async () => {
    const result = await check({ notificationSenderDomain: 'nomandrill.example' });
    expect(item(result.items, 'SPF of nomandrill.example')).toMatchObject({
      ok: false,
      detail: 'nomandrill.example\'s SPF record "v=spf1 include:_spf.google.com ~all" does not include spf.mandrillapp.com',
      fix: 'add include:spf.mandrillapp.com to the SPF record of nomandrill.example, before its "all"',
    });
    expect(item(result.items, 'DKIM of nomandrill.example')).toMatchObject({ ok: false, detail: 'mandrill._domainkey.nomandrill.example has a DKIM record without a public key (p=)' });
  });

  it('fails two SPF records, and a DKIM record without v=DKIM1', async () => {
    const result = await check({ notificationSenderDomain: 'twospf.example' });
    expect(item(result.items, 'SPF of twospf.example')).toMatchObject({ ok: false, detail: 'twospf.example has 2 SPF records, which makes SPF fail' });
    expect(item(result.items, 'DKIM of twospf.example')).toMatchObject({ ok: false, detail: 'mandrill._domainkey.twospf.example has TXT records but none with v=DKIM1' });
  });

  it('fails pages that link relative files, a missing page and a password page without the password form', async () => {
    const result = await check({ previewDomain: 'sites.agency.example', resellerName: 'agency', notificationSenderDomain: 'mail.agency.example', pagesDir: BAD_PAGES });
    expect(result.ok).toBe(false);

    const notFound = item(result.items, 'custom page 404.html');
    expect(notFound.ok).toBe(false);
    expect(notFound.detail).toBe('404.html: it links to "styles/site.css", "/js/app.js", "logo.png", "logo@2x.png", which would not load from a client\'s site');
    expect(notFound.fix).toBe('inline those files (CSS and JS in the page, images as data: URLs) or link them by absolute https:// URLs');

    const success = item(result.items, 'custom page form-success.html');
    expect(success).toMatchObject({ ok: false, fix: `write form-success.html into ${BAD_PAGES}` });
    expect(success.detail).toMatch(/form-success\.html does not exist$/);

    const password = item(result.items, 'custom page password.html');
    expect(password.ok).toBe(false);
    expect(password.detail).toBe('password.html: it links to "images/bg.jpg", "theme.css", which would not load from a client\'s site; it has no <form> with an <input name="password">');
    expect(password.fix).toContain('add <form method="post"> with <input type="password" name="password">');
  });
});

describe('reading a custom page', () => {
  it('accepts absolute, inline, mail and fragment links, and ignores commented-out markup', () => {
    const html = `<!-- <img src="old.png"> -->
      <link rel="stylesheet" href="https://cdn.example/a.css"><script src="//cdn.example/a.js"></script>
      <a href="#top">top</a><a href='mailto:x@example.com'>mail</a><a href="tel:+15555550100">call</a>
      <img src="data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'></svg>" alt="">
      <div style="background:url('data:image/png;base64,AAAA')"></div>`;
    expect(relativeReferences(html)).toEqual([]);
  });

  it('finds relative src, href, srcset, poster, url() and @import targets, quoted or not', () => {
    const html = `<link rel=stylesheet href=site.css><img src='a.png' srcset="b.png 2x, https://cdn.example/c.png 3x">
      <video poster="/poster.jpg"></video><style>@import 'more.css'; div { background: url(bg.png) }</style><a href="">here</a>`;
    expect(relativeReferences(html)).toEqual(['site.css', 'a.png', 'b.png', '/poster.jpg', '', 'bg.png', 'more.css']);
  });

  it('wants the password input inside a form', () => {
    expect(hasPasswordForm('<form method="post"><input type="password" name="password"></form>')).toBe(true);
    expect(hasPasswordForm("<FORM><input name='password' type=password></FORM>")).toBe(true);
    expect(hasPasswordForm('<form><input name=password></form>')).toBe(true);
    expect(hasPasswordForm('<form><input name="password2"></form><input name="password">')).toBe(false);
    expect(hasPasswordForm('<input name="password">')).toBe(false);
  });
});

describe('the custom pages the project ships', () => {
  it('reseller-pages/ passes every page check, so an agency starts from pages Netlify accepts', async () => {
    const pagesDir = fileURLToPath(new URL('../reseller-pages/', import.meta.url));
    const result = await checkResellerSettings({ pagesDir, resolvers: [dns.resolver], timeoutMs: 2_000 });
    const pages = result.items.filter((candidate) => candidate.check.startsWith('custom page'));
    expect(pages.map((page) => page.check)).toEqual(['custom page 404.html', 'custom page form-success.html', 'custom page password.html']);
    expect(pages.every((page) => page.ok && page.fix === null)).toBe(true);
  });
});
