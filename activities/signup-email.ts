import type { PlatformName } from '../platforms/catalog.js';

export interface SignupEmailContent {
  clientName: string | undefined;
  email: string;
  domain: string;
  /** NextNet's signup link, when the plan has NextNet. */
  signupUrl: string | null;
  /** The client's live site, when the plan has Netlify. */
  siteUrl: string | null;
  /** The agency the client signed with: named in the opening and the sign-off. */
  agencyName: string;
}

/**
 * What the client is signing up for, one sentence per platform, in the agency's words: the email never names the
 * platforms the agency resells.
 */
export const WHAT_THE_CLIENT_GETS: Record<PlatformName, string> = {
  netlify: 'Website hosting: your website is hosted for you and kept secure, with an encrypted (HTTPS) connection.',
  nextnet: 'AI search visibility: helps AI assistants such as ChatGPT find and recommend your business.',
};

/** The message that tells the client what is ready: the live site and the signup link, each only if in the plan. */
export function composeSignupEmail(content: SignupEmailContent): { subject: string; text: string; html: string } {
  const greeting = content.clientName ? `Hello ${content.clientName},` : 'Hello,';
  const ready = [content.siteUrl ? 'website' : null, content.signupUrl ? 'AI search visibility account' : null].filter(Boolean).join(' and ');
  const subject = `Your ${ready} for ${content.domain} ${content.siteUrl && content.signupUrl ? 'are' : 'is'} ready`;
  const plan: PlatformName[] = [...(content.siteUrl ? (['netlify'] as const) : []), ...(content.signupUrl ? (['nextnet'] as const) : [])];
  const opening = `${content.agencyName} has set up the following for ${content.domain}:`;
  const text: string[] = [greeting, '', opening, '', ...plan.map((platform) => `- ${WHAT_THE_CLIENT_GETS[platform]}`), ''];
  const html: string[] = [
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>${escapeHtml(content.agencyName)} has set up the following for <strong>${escapeHtml(content.domain)}</strong>:</p>`,
    `<ul>\n${plan.map((platform) => `<li>${escapeHtml(WHAT_THE_CLIENT_GETS[platform])}</li>`).join('\n')}\n</ul>`,
  ];
  if (content.siteUrl) {
    text.push(`Your website is live with a secure connection:`, '', content.siteUrl, '');
    html.push(`<p>Your website is live with a secure connection: <a href="${escapeHtml(content.siteUrl)}">${escapeHtml(content.siteUrl)}</a></p>`);
  }
  if (content.signupUrl) {
    text.push(
      `To finish setting up AI search visibility for ${content.domain}, create your login here:`,
      '',
      content.signupUrl,
      '',
      `Please sign up with this email address: ${content.email}`,
      'Using another address will not connect you to your account.',
      '',
    );
    html.push(
      `<p>To finish setting up AI search visibility for <strong>${escapeHtml(content.domain)}</strong>, create your login:</p>`,
      `<p><a href="${escapeHtml(content.signupUrl)}" style="display:inline-block;padding:10px 18px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:6px">Sign up</a></p>`,
      `<p>Please sign up with this email address: <strong>${escapeHtml(content.email)}</strong>.<br>Using another address will not connect you to your account.</p>`,
    );
  }
  text.push('If you have any questions, just reply to this email.', '', 'Kind regards,', `The ${content.agencyName} team`);
  html.push('<p>If you have any questions, just reply to this email.</p>', `<p>Kind regards,<br>The ${escapeHtml(content.agencyName)} team</p>`);
  if (content.signupUrl) html.push(`<p style="color:#666;font-size:12px">Link not working? Copy this into your browser: ${escapeHtml(content.signupUrl)}</p>`);
  return {
    subject,
    text: text.join('\n'),
    html: `<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n${html.join('\n')}\n</body></html>`,
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
