export interface SignupEmailContent {
  clientName: string | undefined;
  email: string;
  domain: string;
  signupUrl: string;
}

/** The message that tells the client to finish signing up, with the email the agency registered. */
export function composeSignupEmail(content: SignupEmailContent): { subject: string; text: string; html: string } {
  const greeting = content.clientName ? `Hello ${content.clientName},` : 'Hello,';
  const subject = `Your AI search visibility account for ${content.domain} is ready`;
  const text = [
    greeting,
    '',
    `We have set up AI search visibility for ${content.domain}.`,
    'To finish, create your login here:',
    '',
    content.signupUrl,
    '',
    `Please sign up with this email address: ${content.email}`,
    'Using another address will not connect you to your account.',
    '',
    'If you have any questions, just reply to this email.',
  ].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>${escapeHtml(greeting)}</p>
<p>We have set up AI search visibility for <strong>${escapeHtml(content.domain)}</strong>.</p>
<p>To finish, create your login:</p>
<p><a href="${escapeHtml(content.signupUrl)}" style="display:inline-block;padding:10px 18px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:6px">Sign up</a></p>
<p>Please sign up with this email address: <strong>${escapeHtml(content.email)}</strong>.<br>Using another address will not connect you to your account.</p>
<p>If you have any questions, just reply to this email.</p>
<p style="color:#666;font-size:12px">Link not working? Copy this into your browser: ${escapeHtml(content.signupUrl)}</p>
</body></html>`;
  return { subject, text, html };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
