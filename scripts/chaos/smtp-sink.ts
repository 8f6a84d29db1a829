/**
 * A small SMTP server for `npm run chaos` that accepts every message and records its Message-ID, recipients and
 * subject, so the run can count emails per Message-ID. Plain SMTP (no STARTTLS, no AUTH), enough for nodemailer.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface ReceivedEmail {
  messageId: string;
  to: string[];
  subject: string;
  at: number;
}

export interface SmtpSink {
  url: string;
  port: number;
  emails: ReceivedEmail[];
  close(): Promise<void>;
}

/** The value of a header in a raw message (folded lines unfolded); '' when absent. */
function headerOf(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded);
  return match?.[1]?.trim() ?? '';
}

export interface SmtpSinkOptions {
  /** Runs after a message is taken and before the 250 that says so (a slow mail server; a crash in between). */
  beforeReply?: (email: ReceivedEmail) => Promise<void> | void;
}

export async function startSmtpSink(port = 0, options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const emails: ReceivedEmail[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    let inData = false;
    let data: string[] = [];
    let recipients: string[] = [];
    const reply = (line: string) => {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
    };
    reply('220 chaos-sink ESMTP ready');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            const raw = data.join('\r\n');
            const email: ReceivedEmail = { messageId: headerOf(raw, 'Message-ID'), to: recipients, subject: headerOf(raw, 'Subject'), at: Date.now() };
            // The message is the server's from here on, whether or not the sender lives to hear the 250.
            emails.push(email);
            data = [];
            recipients = [];
            const queued = emails.length;
            void Promise.resolve(options.beforeReply?.(email)).finally(() => reply(`250 2.0.0 queued as ${queued}`));
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply('250-chaos-sink\r\n250-8BITMIME\r\n250 SMTPUTF8');
        else if (verb === 'HELO') reply('250 chaos-sink');
        else if (verb === 'MAIL') {
          recipients = [];
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          recipients.push((/<([^>]*)>/.exec(line)?.[1] ?? '').toLowerCase());
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end data with <CR><LF>.<CR><LF>');
        } else if (verb === 'RSET') {
          recipients = [];
          reply('250 2.0.0 ok');
        } else if (verb === 'NOOP') reply('250 2.0.0 ok');
        else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else reply('502 5.5.2 command not implemented');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${actualPort}`,
    port: actualPort,
    emails,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
