import { processOrigin, type Database } from '../database/index.js';
import type { EmailClaim, SentEmail, SentEmailLedger } from './sent-email-ledger.js';

/** A send that was claimed and never recorded as sent: the process may have crashed before or after the mail server took it. */
export interface UnconfirmedSend {
  messageId: string;
  claimedAt: string;
  claimedBy: string | null;
  attempts: number;
}

/**
 * The sent-email ledger in PostgreSQL, shared by every worker: a row per message, 'claimed' before the send and
 * 'sent' once the mail server accepted it.
 */
export class PostgresSentEmailLedger implements SentEmailLedger {
  private readonly origin = processOrigin();

  constructor(private readonly database: Database) {}

  async find(messageId: string): Promise<SentEmail | undefined> {
    const { rows } = await this.database.query<{ sent_at: Date }>("SELECT sent_at FROM sent_emails WHERE message_id = $1 AND state = 'sent'", [messageId]);
    return rows[0] ? { messageId, sentAt: rows[0].sent_at.toISOString() } : undefined;
  }

  /** Idempotent: recording a message again keeps the first time it was sent. */
  async record(sent: SentEmail): Promise<void> {
    await this.database.query(
      `INSERT INTO sent_emails (message_id, state, sent_at) VALUES ($1, 'sent', $2)
       ON CONFLICT (message_id) DO UPDATE SET state = 'sent', sent_at = COALESCE(sent_emails.sent_at, EXCLUDED.sent_at)`,
      [sent.messageId, sent.sentAt],
    );
  }

  /**
   * Claims a send. With `leaseMs`, a claim younger than that is another attempt's, which may still be talking to the
   * mail server: the answer is `busy` rather than a second, overlapping send.
   */
  async claim(messageId: string, options: { leaseMs?: number } = {}): Promise<EmailClaim> {
    return this.database.transaction(async (client) => {
      const fresh = await client.query<{ claimed_at: Date }>(
        `INSERT INTO sent_emails (message_id, state, claimed_at, claimed_by, attempts) VALUES ($1, 'claimed', now(), $2, 1)
         ON CONFLICT (message_id) DO NOTHING RETURNING claimed_at`,
        [messageId, this.origin],
      );
      if (fresh.rows[0]) return { state: 'claimed' as const, claimedAt: fresh.rows[0].claimed_at.toISOString(), attempts: 1 };
      // Locked until commit: two attempts claiming at once see each other's claim in turn.
      const { rows } = await client.query<{ state: 'claimed' | 'sent'; claimed_at: Date | null; claimed_by: string | null; sent_at: Date | null }>(
        'SELECT state, claimed_at, claimed_by, sent_at FROM sent_emails WHERE message_id = $1 FOR UPDATE',
        [messageId],
      );
      const earlier = rows[0]!;
      if (earlier.state === 'sent') return { state: 'sent' as const, sent: { messageId, sentAt: earlier.sent_at!.toISOString() } };
      if (options.leaseMs && earlier.claimed_at) {
        const { rows: [age] } = await client.query<{ ms: number }>('SELECT (extract(epoch FROM now() - $1::timestamptz) * 1000)::float8 AS ms', [earlier.claimed_at]);
        const retryInMs = Math.ceil(options.leaseMs - age!.ms);
        if (retryInMs > 0) return { state: 'busy' as const, claimedAt: earlier.claimed_at.toISOString(), claimedBy: earlier.claimed_by, retryInMs };
      }
      const renewed = await client.query<{ claimed_at: Date; attempts: number }>(
        `UPDATE sent_emails SET claimed_at = now(), claimed_by = $2, attempts = attempts + 1
          WHERE message_id = $1 RETURNING claimed_at, attempts`,
        [messageId, this.origin],
      );
      const claim = renewed.rows[0]!;
      return {
        state: 'claimed' as const,
        claimedAt: claim.claimed_at.toISOString(),
        attempts: claim.attempts,
        ...(earlier.claimed_at ? { earlierClaimedAt: earlier.claimed_at.toISOString() } : {}),
        ...(earlier.claimed_by ? { earlierClaimedBy: earlier.claimed_by } : {}),
      };
    });
  }

  /** The send certainly did not happen (the server refused, or no connection): the claim no longer holds anyone off. */
  async release(messageId: string): Promise<void> {
    await this.database.query("UPDATE sent_emails SET claimed_at = NULL WHERE message_id = $1 AND state = 'claimed'", [messageId]);
  }

  /** Sends claimed at least `olderThanMs` ago and never recorded as sent, oldest first: for ops to check by hand. */
  async listUnconfirmed(options: { olderThanMs?: number; limit?: number } = {}): Promise<UnconfirmedSend[]> {
    const { rows } = await this.database.query<{ message_id: string; claimed_at: Date; claimed_by: string | null; attempts: number }>(
      `SELECT message_id, claimed_at, claimed_by, attempts FROM sent_emails
        WHERE state = 'claimed' AND claimed_at <= now() - make_interval(secs => $1)
        ORDER BY claimed_at LIMIT $2`,
      [(options.olderThanMs ?? 0) / 1000, options.limit ?? 100],
    );
    return rows.map((row) => ({ messageId: row.message_id, claimedAt: row.claimed_at.toISOString(), claimedBy: row.claimed_by, attempts: row.attempts }));
  }
}
