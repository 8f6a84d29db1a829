-- The engine's own state, shared by every worker and API: the vault, its audit trail, the sent-email ledger and the
-- record of one-shot imports. Applied by database/index.ts (migrate) at start, never by hand.

-- One row per secret (onboarding, name). The value is sealed with AES-256-GCM under VAULT_KEY, bound to
-- `vault:<onboarding_id>/<name>`; the database never sees it in clear. `version` grows by one with every write and
-- revocation: writers compare and set it, so no concurrent write is lost unseen. A revoked entry keeps its row
-- (who, when, why) and loses its value for good.
CREATE TABLE vault_secrets (
  onboarding_id text NOT NULL,
  name text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  iv bytea,
  tag bytea,
  ciphertext bytea,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_by text,
  revoke_reason text,
  PRIMARY KEY (onboarding_id, name),
  -- A live entry has a sealed value; a revoked one has none.
  CONSTRAINT vault_secrets_value_or_revoked CHECK (
    (revoked_at IS NULL AND iv IS NOT NULL AND tag IS NOT NULL AND ciphertext IS NOT NULL)
    OR (revoked_at IS NOT NULL AND iv IS NULL AND tag IS NULL AND ciphertext IS NULL)
  )
);

-- Every read, write and revocation of a secret: who, what, when and the outcome, never the value.
CREATE TABLE secret_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  onboarding_id text NOT NULL,
  secret_name text NOT NULL,
  action text NOT NULL CHECK (action IN ('read', 'write', 'revoke', 'import')),
  actor text NOT NULL,
  purpose text,
  outcome text NOT NULL,
  -- The entry's version after a write or revocation, the one read by a read.
  version integer,
  -- The process that acted: host name and pid.
  origin text NOT NULL
);
CREATE INDEX secret_audit_onboarding_at ON secret_audit (onboarding_id, at);
CREATE INDEX secret_audit_at ON secret_audit (at);

-- Emails the engine sent: a send is claimed first ('claimed'), then recorded ('sent'), so a retry after a crash
-- finds the claim and knows an earlier attempt may have reached the mail server.
CREATE TABLE sent_emails (
  message_id text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('claimed', 'sent')),
  claimed_at timestamptz,
  claimed_by text,
  attempts integer NOT NULL DEFAULT 0,
  sent_at timestamptz,
  CONSTRAINT sent_emails_sent_at CHECK (state <> 'sent' OR sent_at IS NOT NULL)
);
CREATE INDEX sent_emails_claimed ON sent_emails (claimed_at) WHERE state = 'claimed';

-- One-shot imports that ran (e.g. the file vault and ledger of DATA_DIR), with what they moved: counts, never values.
CREATE TABLE state_imports (
  name text PRIMARY KEY,
  imported_at timestamptz NOT NULL DEFAULT now(),
  summary jsonb NOT NULL
);
