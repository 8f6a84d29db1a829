import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../vault/durable-file.js';

export interface SentEmail {
  messageId: string;
  sentAt: string;
}

/**
 * Remembers which emails went out, durably, so a retried activity (a worker crash or a lost completion after
 * SMTP accepted the message) does not email the client twice.
 */
export interface SentEmailLedger {
  find(messageId: string): Promise<SentEmail | undefined>;
  record(sent: SentEmail): Promise<void>;
  /**
   * Optional: claims a send durably before it happens, so a crash between the claim and `record` stays visible.
   * Answers `sent` when the message was already recorded (do not send again); otherwise the claim is the caller's,
   * with `earlierClaimedAt` set when an earlier attempt claimed it and never recorded the send (it may have gone out).
   */
  claim?(messageId: string, options?: { leaseMs?: number }): Promise<EmailClaim>;
  /** Optional, with `claim`: gives a claim up when the send certainly did not happen, so the next attempt need not wait out its lease. */
  release?(messageId: string): Promise<void>;
}

export type EmailClaim =
  | { state: 'sent'; sent: SentEmail }
  /** Another attempt claimed it less than the lease ago and may still be sending: wait `retryInMs`, then ask again. */
  | { state: 'busy'; claimedAt: string; claimedBy: string | null; retryInMs: number }
  | { state: 'claimed'; claimedAt: string; attempts: number; earlierClaimedAt?: string; earlierClaimedBy?: string };

/** One fsynced file per message, under DATA_DIR; workers that share the ledger must share the directory. */
export class FileSentEmailLedger implements SentEmailLedger {
  constructor(private readonly directory: string) {}

  async find(messageId: string): Promise<SentEmail | undefined> {
    try {
      return JSON.parse(await readFile(this.fileOf(messageId), 'utf8')) as SentEmail;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async record(sent: SentEmail): Promise<void> {
    await writeFileDurably(this.fileOf(sent.messageId), JSON.stringify(sent));
  }

  private fileOf(messageId: string): string {
    return path.join(this.directory, `${createHash('sha256').update(messageId).digest('hex')}.json`);
  }
}
