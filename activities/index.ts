import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { createPlatformActivities, type PlatformClients } from '../platforms/activities.js';
import { SECRET_NAMES, type PlatformName } from '../platforms/catalog.js';
import { agencyNameOf } from '../config/index.js';
import { createCrmActivities, type CrmActivityDependencies } from '../crm/activities.js';
import type { SecretVault } from '../vault/index.js';
import { FailureTypes, type ClientDetails } from '../workflows/definitions.js';
import { activityLogger, withHeartbeats } from './context.js';
import { certainlyNotSent, isPermanentSmtpRejection, senderDomain, type Mailer } from './mailer.js';
import { EMAIL_ATTEMPT_TIMEOUT_MS } from '../workflows/activity-options.js';
import type { DomainHolders } from './domain-holders.js';
import type { SentEmailLedger } from './sent-email-ledger.js';
import { composeSignupEmail, escapeHtml } from './signup-email.js';

export interface ActivityDependencies extends PlatformClients {
  /** The CRM APIs this worker can call (the client's record, progress written back); absent: none. */
  crms?: CrmActivityDependencies['crms'];
  vault: SecretVault;
  mailer: Mailer;
  sentEmails: SentEmailLedger;
  logger: Logger;
  signupUrl: string;
  emailFrom: string;
  /** The agency's name in the signup email; default: the display name of `emailFrom`, else its domain. */
  agencyName?: string;
  /** Where the client's replies to the signup email go; unset: to `emailFrom`. */
  emailReplyTo?: string;
  opsAlertTo: string | undefined;
  /** The Temporal Web UI's base URL: alerts link to the workflow there. Unset: no link. */
  temporalUiUrl?: string;
  /** The Temporal namespace the workflows run in (for that link); default 'default'. */
  namespace?: string;
  /** Which onboardings hold a domain (Temporal's visibility): names the first onboarding of a duplicate client. */
  domainHolders?: DomainHolders;
}

/**
 * How long a claim on a send holds other attempts off: an attempt's timeout plus a margin. The SMTP limits end every
 * send well within the attempt's timeout, so a claim older than this belongs to an attempt that is over.
 */
export const EMAIL_CLAIM_LEASE_MS = EMAIL_ATTEMPT_TIMEOUT_MS + 15_000;

/** What every onboarding does whatever its plan: the signup email, alerts to ops, revoking secrets. */
export function createSharedActivities(deps: ActivityDependencies) {
  const { vault, mailer } = deps;

  return {
    async sendSignupEmail(input: { onboardingId: string; client: ClientDetails; services?: PlatformName[]; siteUrl?: string | null }): Promise<{ messageId: string; sentAt: string }> {
      const { client, onboardingId } = input;
      const log = activityLogger(deps.logger, { onboardingId });
      // One message per onboarding and recipient: a corrected address on retry gets its own email.
      const recipientTag = createHash('sha256').update(client.email.toLowerCase()).digest('hex').slice(0, 12);
      const messageId = `<signup.${onboardingId}.${recipientTag}@${senderDomain(deps.emailFrom)}>`;
      // A ledger that claims sends (PostgreSQL) records this attempt before it sends, so a crash in between stays
      // visible; its claim also says whether the email went out already. Other ledgers are only asked that.
      const claim = deps.sentEmails.claim ? await deps.sentEmails.claim(messageId, { leaseMs: EMAIL_CLAIM_LEASE_MS }) : undefined;
      const earlier = claim ? (claim.state === 'sent' ? claim.sent : undefined) : await deps.sentEmails.find(messageId);
      if (earlier) {
        log.info({ messageId }, 'signup email was already sent by an earlier attempt; not sending it again');
        return earlier;
      }
      if (claim?.state === 'busy') {
        // An earlier attempt (timed out as far as Temporal knows) may still be talking to the mail server: sending now
        // could deliver the email twice. Ask again once its attempt has surely ended.
        log.warn({ messageId, claimedAt: claim.claimedAt, claimedBy: claim.claimedBy, retryInMs: claim.retryInMs }, 'an earlier attempt may still be sending the signup email; waiting for it');
        throw ApplicationFailure.create({
          message: `an earlier attempt at this email (since ${claim.claimedAt}) may still be talking to the mail server; trying again in ${Math.ceil(claim.retryInMs / 1000)} s`,
          type: FailureTypes.emailSendInProgress,
          nextRetryDelay: claim.retryInMs,
        });
      }
      if (claim?.state === 'claimed' && claim.earlierClaimedAt) {
        // An earlier attempt claimed this send and never recorded it: it may have crashed inside the SMTP exchange,
        // after the server took the message. Sending again reuses the same Message-ID, on which receivers dedupe.
        log.warn(
          { messageId, earlierClaimedAt: claim.earlierClaimedAt, earlierClaimedBy: claim.earlierClaimedBy, attempts: claim.attempts },
          'an earlier attempt may have sent the signup email; sending it again with the same Message-ID',
        );
      }
      const services = input.services ?? ['nextnet'];
      const content = composeSignupEmail({
        clientName: client.name,
        email: client.email,
        domain: client.domain,
        signupUrl: services.includes('nextnet') ? deps.signupUrl : null,
        siteUrl: services.includes('netlify') ? (input.siteUrl ?? `https://${client.domain}`) : null,
        agencyName: deps.agencyName ?? agencyNameOf(deps.emailFrom),
      });
      try {
        await withHeartbeats(mailer.send({ to: client.email, ...content, messageId, ...(deps.emailReplyTo ? { replyTo: deps.emailReplyTo } : {}) }));
      } catch (err) {
        // Certainly not taken (refused, or never connected): the next attempt need not wait out this one's claim.
        if (certainlyNotSent(err)) await deps.sentEmails.release?.(messageId).catch(() => undefined);
        if (isPermanentSmtpRejection(err)) {
          throw ApplicationFailure.nonRetryable(`the mail server refused the signup email: ${(err as Error).message}`, FailureTypes.emailRejected);
        }
        throw err;
      }
      const sent = { messageId, sentAt: new Date().toISOString() };
      try {
        await deps.sentEmails.record(sent);
      } catch (err) {
        // The server accepted the message: failing now would send a new email on every retry. The claim stays
        // unconfirmed in the ledger, where ops can see it.
        log.error({ messageId, err: { message: (err as Error).message } }, 'signup email sent, but the sent-email ledger could not record it');
      }
      log.info({ messageId }, 'signup email sent');
      return sent;
    },

    /** Revokes an offboarded client's secrets, every one its platforms declare: kept for audit, never readable again. */
    async revokeClientSecrets(input: { onboardingId: string; reason: string }): Promise<{ revoked: boolean; names: string[] }> {
      const revoked: string[] = [];
      for (const name of SECRET_NAMES) {
        if (await vault.revoke({ onboardingId: input.onboardingId, name }, { actor: 'offboarding workflow', purpose: input.reason })) revoked.push(name);
      }
      return { revoked: revoked.length > 0, names: revoked };
    },

    /**
     * Tells a person that an onboarding needs them: always a warning in the log, and an email when configured, with
     * the reason (phrased as what to do), the workflow's link in the Temporal UI and the command that shows it.
     */
    async alertOps(input: { onboardingId: string; domain: string; reason: string }): Promise<{ emailed: boolean }> {
      const { onboardingId } = input;
      // The onboarding's workflow id is its onboarding id; the link opens its latest run.
      const uiLink = deps.temporalUiUrl
        ? `${deps.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(deps.namespace ?? 'default')}/workflows/${encodeURIComponent(onboardingId)}`
        : undefined;
      const showCommand = `npx onboarding show ${onboardingId}`;
      activityLogger(deps.logger, { onboardingId }).warn({ domain: input.domain, reason: input.reason, temporalUi: uiLink }, 'onboarding needs attention');
      if (!deps.opsAlertTo) return { emailed: false };
      const subject = `Onboarding of ${input.domain} needs attention`;
      const text = [
        input.reason,
        '',
        `Onboarding: ${onboardingId}`,
        ...(uiLink ? [`Temporal UI: ${uiLink}`] : []),
        `From a terminal: ${showCommand}`,
      ].join('\n');
      const html = [
        `<p>${escapeHtml(input.reason)}</p>`,
        `<p>Onboarding: <code>${escapeHtml(onboardingId)}</code></p>`,
        ...(uiLink ? [`<p>Temporal UI: <a href="${escapeHtml(uiLink)}">${escapeHtml(uiLink)}</a></p>`] : []),
        `<p>From a terminal: <code>${escapeHtml(showCommand)}</code></p>`,
      ].join('\n');
      await mailer.send({
        to: deps.opsAlertTo,
        subject,
        text,
        html: `<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n${html}\n</body></html>`,
        messageId: `<attention.${onboardingId}.${Date.now()}@${senderDomain(deps.emailFrom)}>`,
      });
      return { emailed: true };
    },
  };
}

export type SharedActivities = ReturnType<typeof createSharedActivities>;

/** Every activity the worker serves: the shared ones, each configured platform's and the CRMs'. */
export function createActivities(deps: ActivityDependencies) {
  return { ...createSharedActivities(deps), ...createPlatformActivities(deps), ...createCrmActivities({ crms: deps.crms ?? {}, logger: deps.logger }) };
}

export type OnboardingActivities = ReturnType<typeof createActivities>;
