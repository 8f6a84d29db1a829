import nodemailer, { type Transporter } from 'nodemailer';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** A stable id, so a receiving system can tell a resend of the same message from a new one. */
  messageId: string;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string; accepted: string[] }>;
  close(): void;
}

/** SMTP delivery with the agency's own sender address. */
export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  const transport: Transporter = nodemailer.createTransport(smtpUrl, { from });
  return {
    async send(email) {
      const info = await transport.sendMail({
        from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId: email.messageId,
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

export function senderDomain(from: string): string {
  const match = /@([^>\s]+)>?\s*$/.exec(from);
  return match?.[1] ?? 'localhost';
}
