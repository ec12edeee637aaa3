-- Ordinary tables: secrets and operational state that must never enter the
-- immutable, auditor-visible event log, and that `replay` leaves alone.

CREATE TABLE credentials (
    account_id           text   PRIMARY KEY,
    role                 text   NOT NULL,
    login_lower          text   NOT NULL UNIQUE,
    email_lower          text   NOT NULL UNIQUE,
    password_hash        text   NOT NULL,
    must_change_password integer NOT NULL DEFAULT 0,
    -- A generated password waiting for its welcome email; cleared once sent.
    welcome_password     text,
    created_at           text   NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    account_id text NOT NULL,
    created_at text NOT NULL,
    expires_at text NOT NULL
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_failures (
    login_lower text NOT NULL,
    at          text NOT NULL
) STRICT;
CREATE INDEX login_failures_login ON login_failures (login_lower, at);

-- Activation keys are unique across every account: a key is reserved here
-- before the event that creates it is appended.
CREATE TABLE key_reservations (
    key        text PRIMARY KEY,
    key_id     text NOT NULL UNIQUE,
    owner_id   text NOT NULL
) STRICT;

-- Emails to send, fed by the event log; one row per message, never re-created
-- by a replay.
CREATE TABLE outbox (
    id              text   PRIMARY KEY,
    kind            text   NOT NULL,
    account_id      text   NOT NULL,
    created_at      text   NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at text   NOT NULL,
    sent_at         text,
    last_error      text
) STRICT;
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
