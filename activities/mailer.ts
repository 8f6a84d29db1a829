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
  /** Limits of one SMTP exchange (ms); the defaults keep a whole send well inside the email activity's timeout. */
  timeouts?: Partial<SmtpTimeouts>;
}

export interface SmtpTimeouts {
  /** Connecting, TLS included. */
  connectionMs: number;
  /** The server's greeting after connecting. */
  greetingMs: number;
  /** Silence on the connection at any point. */
  socketMs: number;
  /** The whole send: past it the attempt gives up waiting (whether the server took the message is then unknown). */
  sendMs: number;
}

/** nodemailer's own defaults are 2 and 10 minutes, longer than the email activity may run: a slow server would outlive it. */
export const SMTP_TIMEOUTS: SmtpTimeouts = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 20_000, sendMs: 40_000 };

/** The send gave up waiting for the mail server: it may or may not have taken the message. */
export class SmtpSendTimedOut extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`the mail server did not finish taking the message within ${ms / 1000} s`);
    this.name = 'SmtpSendTimedOut';
  }
}

/** SMTP delivery with the agency's own sender address. */
export function createSmtpMailer(smtpUrl: string, from: string, options: SmtpMailerOptions = {}): Mailer {
  // nodemailer quotes or encodes the display name as the header needs.
  const sender = options.fromName ? { name: options.fromName, address: senderAddress(from) } : from;
  const timeouts = { ...SMTP_TIMEOUTS, ...options.timeouts };
  // Pooled: a worker keeps a few SMTP connections open and sends many messages on each, instead of opening one
  // (TCP, greeting, EHLO, TLS, AUTH) per message; `?pool=false` in SMTP_URL turns it off (README, Production).
  const transport: Transporter = nodemailer.createTransport(
    { url: smtpUrl, pool: true, connectionTimeout: timeouts.connectionMs, greetingTimeout: timeouts.greetingMs, socketTimeout: timeouts.socketMs },
    { from: sender },
  );
  return {
    async send(email) {
      const replyTo = email.replyTo ?? options.replyTo;
      const sending = transport.sendMail({
        from: sender,
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId: email.messageId,
        ...(replyTo ? { replyTo } : {}),
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new SmtpSendTimedOut(timeouts.sendMs)), timeouts.sendMs);
      });
      sending.catch(() => undefined);
      try {
        const info = await Promise.race([sending, deadline]);
        return { messageId: String(info.messageId), accepted: (info.accepted ?? []).map(String) };
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * Whether a failed send certainly left the message untaken: the server answered with an error, or no connection
 * was made. A timeout or a connection lost mid-exchange may have come after the server took it.
 */
export function certainlyNotSent(err: unknown): boolean {
  const { responseCode, code, command } = (err ?? {}) as { responseCode?: unknown; code?: unknown; command?: unknown };
  if (typeof responseCode === 'number' && responseCode >= 400) return true;
  // Failing while connecting (refused, unknown host): nothing was said to a server yet.
  return command === 'CONN' || code === 'ECONNECTION' || code === 'EDNS';
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
