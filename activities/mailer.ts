import nodemailer, { type Transporter } from 'nodemailer';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** A stable id, so a receiving system can tell a resend of the same message from a new one. */
  messageId: string;
  /** Where replies go, instead of the mailer's own reply-to (if any). */
  replyTo?: string;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string; accepted: string[] }>;
  close(): void;
}

export interface SmtpMailerOptions {
  /** Where replies to every message go, unless a message names its own. */
  replyTo?: string;
  /** The sender's display name, in place of the one in `from` (`"Acme Agency" <onboarding@agency.example>`). */
  fromName?: string;
}

/** SMTP delivery with the agency's own sender address. */
export function createSmtpMailer(smtpUrl: string, from: string, options: SmtpMailerOptions = {}): Mailer {
  // nodemailer quotes or encodes the display name as the header needs.
  const sender = options.fromName ? { name: options.fromName, address: senderAddress(from) } : from;
  const transport: Transporter = nodemailer.createTransport(smtpUrl, { from: sender });
  return {
    async send(email) {
      const replyTo = email.replyTo ?? options.replyTo;
      const info = await transport.sendMail({
        from: sender,
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId: email.messageId,
        ...(replyTo ? { replyTo } : {}),
      });
      return { messageId: String(info.messageId), accepted: (info.accepted ?? []).map(String) };
    },
    close() {
      transport.close();
    },
  };
}

/** A permanent refusal (5xx) will not change by retrying; anything else (4xx, network) may. */
export function isPermanentSmtpRejection(err: unknown): boolean {
  const code = (err as { responseCode?: number } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** The bare address of a sender such as `Your Agency <onboarding@agency.example>`. */
export function senderAddress(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1]?.trim() ?? from.trim();
}

export function senderDomain(from: string): string {
  const match = /@([^>\s]+)>?\s*$/.exec(from);
  return match?.[1] ?? 'localhost';
}
