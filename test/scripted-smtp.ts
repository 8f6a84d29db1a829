/**
 * A minimal SMTP server for tests that need a mail server to misbehave in one exact way: refuse a recipient, take its
 * time over a message, or never answer at all. It records every message it took (answered 250 after DATA).
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ScriptedSmtpOptions {
  /** The reply to RCPT TO; default `250 2.1.5 OK`. */
  recipientReply?: string;
  /** How long the server holds each message before answering 250; default at once. */
  acceptAfterMs?: number;
  /** Accept connections and never say a word (not even the greeting). */
  silent?: boolean;
}

export interface ScriptedSmtp {
  url: string;
  /** Every message the server took, as its lines (headers unfolded as sent), in order. */
  received: string[];
  /** The Message-ID of every message the server took, in order. */
  taken: string[];
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

export async function startScriptedSmtp(options: ScriptedSmtpOptions = {}): Promise<ScriptedSmtp> {
  const received: string[] = [];
  const taken: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (options.silent) return;
    let buffered = '';
    let message: string[] | null = null;
    socket.write('220 scripted ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 2);
        if (message) {
          if (line !== '.') {
            message.push(line);
            continue;
          }
          const text = message.map((l) => `${l}\n`).join('');
          message = null;
          setTimeout(() => {
            received.push(text);
            taken.push(/^message-id:\s*(<[^>]+>)/im.exec(text.replace(/\n[ \t]+/g, ' '))?.[1] ?? '?');
            if (!socket.destroyed) socket.write('250 2.0.0 queued\r\n');
          }, options.acceptAfterMs ?? 0);
          continue;
        }
        const verb = line.split(' ')[0]?.toUpperCase();
        if (verb === 'EHLO') socket.write('250-scripted\r\n250 8BITMIME\r\n');
        else if (verb === 'RCPT') socket.write(`${options.recipientReply ?? '250 2.1.5 OK'}\r\n`);
        else if (verb === 'DATA') {
          message = [];
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    taken,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
