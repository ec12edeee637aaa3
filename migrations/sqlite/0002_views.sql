-- Read models. Every table here is a projection of the event log: `replay`
-- empties them and rebuilds them from the log. Times are RFC 3339 UTC text of
-- fixed width (so text order is time order); days are ISO dates.

-- Where each consumer of the log has got to: (transaction_id, position) of the
-- last event it applied, written in the same transaction as its effects.
CREATE TABLE log_checkpoints (
    consumer       text   PRIMARY KEY,
    transaction_id integer NOT NULL,
    position       integer NOT NULL
) STRICT;
INSERT INTO log_checkpoints VALUES ('views', 0, 0), ('transfers', 0, 0);

CREATE TABLE accounts (
    id            text   PRIMARY KEY,
    role          text   NOT NULL,
    login         text   NOT NULL,
    email         text   NOT NULL,
    name          text   NOT NULL,
    parent_id     text,
    balance       integer NOT NULL DEFAULT 0,
    -- JSON array of product codes; NULL: every product.
    products      text,
    created_at    text   NOT NULL,
    position      integer NOT NULL
) STRICT;
CREATE INDEX accounts_parent ON accounts (parent_id, position);
CREATE INDEX accounts_role ON accounts (role, position);

CREATE TABLE credit_entries (
    id            text   PRIMARY KEY,
    account_id    text   NOT NULL,
    position      integer NOT NULL,
    at            text   NOT NULL,
    amount        integer NOT NULL,
    balance_after integer NOT NULL,
    reason        text   NOT NULL,
    reference     text,
    actor_id      text
) STRICT;
CREATE INDEX credit_entries_account ON credit_entries (account_id, position);
CREATE INDEX credit_entries_account_at ON credit_entries (account_id, at);
CREATE INDEX credit_entries_reference ON credit_entries (account_id, reason, reference);

-- Which entity an idempotency key produced, so a retry returns it.
CREATE TABLE idempotency_results (
    account_id text NOT NULL,
    key        text NOT NULL,
    entity_id  text NOT NULL,
    PRIMARY KEY (account_id, key)
) STRICT;

-- scope_id: the partner the row belongs under (the owner itself, or a
-- reseller's partner): a partner sees exactly the rows of its scope.
CREATE TABLE activation_keys (
    id                 text   PRIMARY KEY,
    owner_id           text   NOT NULL,
    scope_id           text   NOT NULL,
    name               text   NOT NULL,
    key                text   NOT NULL UNIQUE,
    device_fingerprint text,
    device_name        text,
    activated_at       text,
    created_at         text   NOT NULL,
    position           integer NOT NULL
) STRICT;
CREATE INDEX activation_keys_owner ON activation_keys (owner_id, position);
CREATE INDEX activation_keys_scope ON activation_keys (scope_id, position);
CREATE INDEX activation_keys_position ON activation_keys (position);

CREATE TABLE licenses (
    id            text   PRIMARY KEY,
    key_id        text   NOT NULL,
    owner_id      text   NOT NULL,
    scope_id      text   NOT NULL,
    product       text   NOT NULL,
    edition       text   NOT NULL,
    users         integer NOT NULL,
    kind          text   NOT NULL,
    trial_ends_at text,
    email         text,
    comment       text,
    credits_spent integer NOT NULL,
    deleted       integer NOT NULL DEFAULT 0,
    created_at    text   NOT NULL,
    updated_at    text   NOT NULL,
    position      integer NOT NULL
) STRICT;
CREATE INDEX licenses_key ON licenses (key_id);
CREATE INDEX licenses_owner ON licenses (owner_id, position);
CREATE INDEX licenses_scope ON licenses (scope_id, position);
CREATE INDEX licenses_position ON licenses (position);

CREATE TABLE supports (
    id             text   PRIMARY KEY,
    key_id         text   NOT NULL,
    owner_id       text   NOT NULL,
    scope_id       text   NOT NULL,
    product        text   NOT NULL,
    edition        text   NOT NULL,
    users          integer NOT NULL,
    starts_on      text   NOT NULL,
    end_of_support text   NOT NULL,
    credits_spent  integer NOT NULL,
    created_at     text   NOT NULL,
    updated_at     text   NOT NULL,
    position       integer NOT NULL
) STRICT;
CREATE INDEX supports_end ON supports (end_of_support, position);
CREATE INDEX supports_scope_end ON supports (scope_id, end_of_support, position);
CREATE INDEX supports_owner_end ON supports (owner_id, end_of_support, position);
CREATE INDEX supports_key ON supports (key_id);

CREATE TABLE subscriptions (
    id            text   PRIMARY KEY,
    key_id        text   NOT NULL,
    owner_id      text   NOT NULL,
    scope_id      text   NOT NULL,
    software      text   NOT NULL,
    channels      integer NOT NULL,
    months        integer NOT NULL,
    starts_on     text   NOT NULL,
    ends_on       text   NOT NULL,
    email         text,
    comment       text,
    credits_spent integer NOT NULL,
    created_at    text   NOT NULL,
    position      integer NOT NULL
) STRICT;
CREATE INDEX subscriptions_owner ON subscriptions (owner_id, position);
CREATE INDEX subscriptions_scope ON subscriptions (scope_id, position);
CREATE INDEX subscriptions_key ON subscriptions (key_id);
