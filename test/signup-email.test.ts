import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpMailer, isPermanentSmtpRejection, senderAddress, senderDomain, type SmtpMailerOptions } from '../activities/mailer.js';
import { composeSignupEmail, escapeHtml, WHAT_THE_CLIENT_GETS } from '../activities/signup-email.js';
import { startScriptedSmtp, type ScriptedSmtp } from './scripted-smtp.js';

const SIGNUP_URL = 'https://app.bediscovered.ai/auth/signup';
const content = { clientName: 'Acme Plumbing', email: 'owner@acme-plumbing.com', domain: 'acme-plumbing.com', signupUrl: SIGNUP_URL, siteUrl: null, agencyName: 'Acme Agency' };

describe('the signup email', () => {
  it('the subject names the client domain', () => {
    expect(composeSignupEmail(content).subject).toBe('Your AI search visibility account for acme-plumbing.com is ready');
  });

  it('the text greets the client, links to signup and names the email to sign up with', () => {
    const { text } = composeSignupEmail(content);

    expect(text.split('\n')[0]).toBe('Hello Acme Plumbing,');
    expect(text).toContain(`\n${SIGNUP_URL}\n`);
    expect(text).toContain('Please sign up with this email address: owner@acme-plumbing.com');
    expect(text).toContain('acme-plumbing.com');
  });

  it('the HTML version carries the same link, email and domain', () => {
    const { html } = composeSignupEmail(content);

    expect(html).toContain(`<a href="${SIGNUP_URL}"`);
    expect(html).toContain('<strong>owner@acme-plumbing.com</strong>');
    expect(html).toContain('<strong>acme-plumbing.com</strong>');
    expect(html).toContain('<p>Hello Acme Plumbing,</p>');
  });

  it('a client without a name is greeted without one', () => {
    const { text, html } = composeSignupEmail({ ...content, clientName: undefined });

    expect(text.split('\n')[0]).toBe('Hello,');
    expect(html).toContain('<p>Hello,</p>');
    expect(text).not.toContain('undefined');
  });

  it('a client name with markup is shown as text in the HTML, not run as markup', () => {
    const { html, text } = composeSignupEmail({ ...content, clientName: `<img src=x onerror="alert('hi')"> & Sons` });

    expect(html).not.toContain('<img');
    expect(html).toContain('<p>Hello &lt;img src=x onerror=&quot;alert(&#39;hi&#39;)&quot;&gt; &amp; Sons,</p>');
    expect(text.split('\n')[0]).toBe(`Hello <img src=x onerror="alert('hi')"> & Sons,`);
  });

  it('a signup link with a query string stays a valid attribute in the HTML', () => {
    const { html } = composeSignupEmail({ ...content, signupUrl: 'https://app.bediscovered.ai/auth/signup?ref=agency&plan="pro"' });
    expect(html).toContain('href="https://app.bediscovered.ai/auth/signup?ref=agency&amp;plan=&quot;pro&quot;"');
  });

  it('a Netlify and NextNet plan names the live site and the signup link', () => {
    const { subject, text, html } = composeSignupEmail({ ...content, siteUrl: 'https://acme-plumbing.com' });

    expect(subject).toBe('Your website and AI search visibility account for acme-plumbing.com are ready');
    expect(text).toContain('\nhttps://acme-plumbing.com\n');
    expect(text).toContain(`\n${SIGNUP_URL}\n`);
    expect(html).toContain('<a href="https://acme-plumbing.com">');
  });

  it('a Netlify-only plan names the site and no signup link', () => {
    const { subject, text, html } = composeSignupEmail({ ...content, signupUrl: null, siteUrl: 'https://acme-plumbing.com' });

    expect(subject).toBe('Your website for acme-plumbing.com is ready');
    expect(text).toContain('https://acme-plumbing.com');
    expect(text).not.toContain(SIGNUP_URL);
    expect(text).not.toContain('sign up');
    expect(html).not.toContain(SIGNUP_URL);
  });

  it('the agency opens the email and signs it off, in text and HTML', () => {
    const { text, html } = composeSignupEmail(content);

    expect(text).toContain('Acme Agency has set up the following for acme-plumbing.com:');
    expect(text.endsWith('Kind regards,\nThe Acme Agency team')).toBe(true);
    expect(html).toContain('<p>Acme Agency has set up the following for <strong>acme-plumbing.com</strong>:</p>');
    expect(html).toContain('<p>Kind regards,<br>The Acme Agency team</p>');
  });

  it('an agency name with markup is shown as text in the HTML', () => {
    const { html, text } = composeSignupEmail({ ...content, agencyName: 'Smith & <b>Sons</b>' });

    expect(html).not.toContain('<b>Sons</b>');
    expect(html).toContain('The Smith &amp; &lt;b&gt;Sons&lt;/b&gt; team');
    expect(text).toContain('The Smith & <b>Sons</b> team');
  });

  it('a NextNet plan says in one sentence what AI search visibility does for the client, and nothing about hosting', () => {
    const { text, html } = composeSignupEmail(content);

    expect(WHAT_THE_CLIENT_GETS.nextnet).toMatch(/AI assistants such as ChatGPT find and recommend your business/);
    expect(text).toContain(`\n- ${WHAT_THE_CLIENT_GETS.nextnet}\n`);
    expect(html).toContain(`<li>${escapeHtml(WHAT_THE_CLIENT_GETS.nextnet)}</li>`);
    expect(text).not.toContain(WHAT_THE_CLIENT_GETS.netlify);
    expect(html).not.toContain(escapeHtml(WHAT_THE_CLIENT_GETS.netlify));
  });

  it('a Netlify-only plan says in one sentence that the website is hosted and kept secure, and nothing about AI search', () => {
    const { text, html } = composeSignupEmail({ ...content, signupUrl: null, siteUrl: 'https://acme-plumbing.com' });

    expect(WHAT_THE_CLIENT_GETS.netlify).toMatch(/website is hosted .*kept secure/);
    expect(text).toContain(`\n- ${WHAT_THE_CLIENT_GETS.netlify}\n`);
    expect(html).toContain(`<li>${escapeHtml(WHAT_THE_CLIENT_GETS.netlify)}</li>`);
    expect(text).not.toContain('ChatGPT');
    expect(html).not.toContain('ChatGPT');
  });

  it('a plan of both names both, website first, and never the platforms the agency resells', () => {
    const { text, html } = composeSignupEmail({ ...content, siteUrl: 'https://acme-plumbing.com' });

    expect(text).toContain(`\n- ${WHAT_THE_CLIENT_GETS.netlify}\n- ${WHAT_THE_CLIENT_GETS.nextnet}\n`);
    expect(html).toContain(`<li>${escapeHtml(WHAT_THE_CLIENT_GETS.netlify)}</li>\n<li>${escapeHtml(WHAT_THE_CLIENT_GETS.nextnet)}</li>`);
    for (const platform of [/netlify/i, /nextnet/i]) {
      expect(text.replace(SIGNUP_URL, '')).not.toMatch(platform);
      expect(html.replaceAll(SIGNUP_URL, '')).not.toMatch(platform);
    }
  });

  it('escapeHtml escapes the five characters that matter in HTML and leaves the rest', () => {
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
    expect(escapeHtml('Ünïcode stays — as is')).toBe('Ünïcode stays — as is');
  });
});

describe('the sender domain used in message ids', () => {
  it.each([
    ['Your Agency <onboarding@agency.localhost>', 'agency.localhost'],
    ['onboarding@agency.example', 'agency.example'],
    ['Acme Agency <onboarding@agency.example>  ', 'agency.example'],
    ['"Sales @ Acme" <onboarding@agency.example>', 'agency.example'],
  ])('%j sends from %j', (from, domain) => {
    expect(senderDomain(from)).toBe(domain);
  });

  it('an address without a domain falls back to localhost', () => {
    expect(senderDomain('Your Agency')).toBe('localhost');
  });

  it.each([
    ['Your Agency <onboarding@agency.localhost>', 'onboarding@agency.localhost'],
    ['onboarding@agency.example', 'onboarding@agency.example'],
    ['"Sales @ Acme" <onboarding@agency.example> ', 'onboarding@agency.example'],
  ])('the bare address of %j is %j', (from, address) => {
    expect(senderAddress(from)).toBe(address);
  });
});

describe('telling a permanent SMTP refusal from a passing one', () => {
  it.each([550, 551, 552, 553, 554])('a %d reply is permanent: retrying will not help', (responseCode) => {
    expect(isPermanentSmtpRejection(Object.assign(new Error('refused'), { responseCode }))).toBe(true);
  });

  it.each([421, 450, 451, 452])('a %d reply is temporary: retrying may help', (responseCode) => {
    expect(isPermanentSmtpRejection(Object.assign(new Error('try later'), { responseCode }))).toBe(false);
  });

  it('a network error without an SMTP reply is not permanent', () => {
    expect(isPermanentSmtpRejection(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' }))).toBe(false);
  });

  it.each([null, undefined, 'oops', { responseCode: '550' }])('%j is not taken for a permanent refusal', (thrown) => {
    expect(isPermanentSmtpRejection(thrown)).toBe(false);
  });
});

describe('with a real SMTP conversation', () => {
  const servers: ScriptedSmtp[] = [];

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  /** An SMTP server (test/scripted-smtp.ts) that answers RCPT TO with the given reply and accepts everything else. */
  async function smtpServer(recipientReply: string): Promise<ScriptedSmtp> {
    const server = await startScriptedSmtp({ recipientReply });
    servers.push(server);
    return server;
  }

  const email = { to: 'owner@acme-plumbing.com', ...composeSignupEmail(content), messageId: '<signup.onboarding-crm-1@agency.example>' };

  async function sendThrough(url: string, options?: SmtpMailerOptions, replyTo?: string): Promise<unknown> {
    const mailer = createSmtpMailer(url, 'Acme Agency <onboarding@agency.example>', options);
    try {
      await mailer.send(replyTo ? { ...email, replyTo } : email);
      return undefined;
    } catch (err) {
      return err;
    } finally {
      mailer.close();
    }
  }

  it('an accepted signup email goes out from the agency with its stable message id', async () => {
    const smtp = await smtpServer('250 2.1.5 OK');

    expect(await sendThrough(smtp.url)).toBeUndefined();

    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toContain('Message-ID: <signup.onboarding-crm-1@agency.example>');
    expect(smtp.received[0]).toMatch(/^From: Acme Agency <onboarding@agency\.example>$/m);
    expect(smtp.received[0]).toContain('Subject: Your AI search visibility account for acme-plumbing.com is ready');
  });

  it('the agency name is the sender display name, quoted where the header needs it, with the address of EMAIL_FROM', async () => {
    const smtp = await smtpServer('250 2.1.5 OK');

    expect(await sendThrough(smtp.url, { fromName: 'Acme Agency, Inc.' })).toBeUndefined();

    expect(smtp.received[0]).toMatch(/^From: "Acme Agency, Inc\." <onboarding@agency\.example>$/m);
    expect(smtp.received[0]).not.toMatch(/^Reply-To:/im);
  });

  it('replies go to the agency mailbox when one is set, and a message may name its own', async () => {
    const smtp = await smtpServer('250 2.1.5 OK');

    expect(await sendThrough(smtp.url, { replyTo: 'hello@agency.example' })).toBeUndefined();
    expect(await sendThrough(smtp.url, { replyTo: 'hello@agency.example' }, 'accounts@agency.example')).toBeUndefined();

    expect(smtp.received[0]).toMatch(/^Reply-To: hello@agency\.example$/m);
    expect(smtp.received[1]).toMatch(/^Reply-To: accounts@agency\.example$/m);
  });

  it('a mailbox the server refuses for good is a permanent rejection', async () => {
    const smtp = await smtpServer('550 5.1.1 <owner@acme-plumbing.com>: mailbox unavailable');

    const failure = await sendThrough(smtp.url);

    expect(failure).toMatchObject({ responseCode: 550 });
    expect(isPermanentSmtpRejection(failure)).toBe(true);
  });

  it('a greylisting refusal is temporary, so the send is retried', async () => {
    const smtp = await smtpServer('451 4.7.1 greylisted, try again later');

    const failure = await sendThrough(smtp.url);

    expect(failure).toMatchObject({ responseCode: 451 });
    expect(isPermanentSmtpRejection(failure)).toBe(false);
  });
});
