-- API tokens for dashboards and scripts: like sessions, only the secret's
-- hash is kept; unlike them, a token has a scope and lives until it expires
-- or is revoked.
CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    account_id   text NOT NULL,
    name         text NOT NULL,
    scope        text NOT NULL,
    prefix       text NOT NULL,
    secret_hash  text NOT NULL UNIQUE,
    created_at   text NOT NULL,
    last_used_at text,
    expires_at   text,
    revoked_at   text
) STRICT;
CREATE INDEX api_tokens_account ON api_tokens (account_id, created_at);
