import { MailDev } from 'maildev';

export interface CapturedEmail {
  id: string;
  subject: string;
  to: { address: string }[];
  from: { address: string; name?: string }[];
  text?: string;
  html?: string;
  headers: Record<string, string>;
}

export interface RunningMailDev {
  smtpUrl: string;
  webUrl: string;
  /** Every message MailDev has caught, through its own HTTP API (`/api/email`). */
  emails(): Promise<CapturedEmail[]>;
  close(): Promise<void>;
}

/** MailDev: a real SMTP server that keeps what it receives and shows it in a web UI. */
export async function startMailDev(options: { smtpPort: number; webPort: number; mailDirectory: string; silent?: boolean }): Promise<RunningMailDev> {
  const maildev = new MailDev({
    smtp: options.smtpPort,
    web: options.webPort,
    ip: '127.0.0.1',
    webIp: '127.0.0.1',
    mailDirectory: options.mailDirectory,
    silent: options.silent ?? true,
  });
  await maildev.start();
  const webUrl = `http://127.0.0.1:${options.webPort}`;
  return {
    smtpUrl: `smtp://127.0.0.1:${options.smtpPort}`,
    webUrl,
    async emails() {
      const response = await fetch(`${webUrl}/api/email`);
      if (!response.ok) throw new Error(`MailDev answered ${response.status}`);
      return (await response.json()) as CapturedEmail[];
    },
    close: () => maildev.stop(),
  };
}
