-- Webhook endpoints, their deliveries (an outbox fed from the log, one row
-- per event and endpoint) and the support reminders already sent. Service
-- tables: the signing secrets must never enter the log, and a replay of the
-- views leaves them alone.

CREATE TABLE webhooks (
    id            text   PRIMARY KEY,
    owner_id      text   NOT NULL,
    url           text   NOT NULL,
    description   text,
    -- Comma-separated WebhookEventType names.
    event_types   text   NOT NULL,
    -- whsec_ + base64: kept to sign, never shown again.
    secret        text   NOT NULL,
    enabled       integer NOT NULL DEFAULT 1,
    -- Set at the first failure after a success; cleared by a success.
    failing_since text,
    created_at    text   NOT NULL,
    seq           integer NOT NULL
) STRICT;
CREATE INDEX webhooks_owner ON webhooks (owner_id, seq);

CREATE TABLE webhook_deliveries (
    id                 text   PRIMARY KEY,
    seq                integer NOT NULL,
    webhook_id         text   NOT NULL,
    -- The Webhook-Id header: one per event, the same on every attempt.
    message_id         text   NOT NULL,
    event_type         text   NOT NULL,
    -- The exact body sent, fixed when the row is made.
    payload            text   NOT NULL,
    status             text   NOT NULL,
    attempts           integer NOT NULL DEFAULT 0,
    max_attempts       integer NOT NULL,
    last_response_code integer,
    last_error         text,
    last_attempt_at    text,
    next_attempt_at    text,
    -- A sender holds the row until then; another may take it afterwards.
    lease_until        text,
    created_at         text   NOT NULL,
    UNIQUE (webhook_id, message_id)
) STRICT;
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, status, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

-- One row per notice sent, per support and End of Support date: extending
-- changes the date, so the notices of the new period are sent again.
CREATE TABLE support_reminders (
    support_id     text NOT NULL,
    end_of_support text NOT NULL,
    notice         text NOT NULL,
    sent_on        text NOT NULL,
    PRIMARY KEY (support_id, end_of_support, notice)
) STRICT;

-- Partners who want the daily reminder digest by email.
CREATE TABLE reminder_settings (
    account_id text PRIMARY KEY,
    digest     integer NOT NULL DEFAULT 0
) STRICT;

-- The reminders job's checkpoint: the last day it ran for.
CREATE TABLE reminder_runs (
    job      text PRIMARY KEY,
    last_day text NOT NULL
) STRICT;
INSERT INTO reminder_runs VALUES ('support', '0000-00-00');

-- Starts where the views are: endpoints made from now on see events from now on.
INSERT INTO log_checkpoints (consumer, transaction_id, position)
    SELECT 'webhooks', transaction_id, position FROM log_checkpoints WHERE consumer = 'views';

-- Emails other than the welcome carry their own text.
ALTER TABLE outbox ADD COLUMN subject text;
ALTER TABLE outbox ADD COLUMN body text;
