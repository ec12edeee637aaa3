-- A login and email are reserved (credentials) before the account's
-- registration event is written: two writes. The row now carries the
-- registration it stands for, so a crash between the two is completed at
-- the next start instead of leaving a login taken by no account.
ALTER TABLE credentials ADD COLUMN registration text;

-- createPartner and createReseller take an idempotency key: a retry by the
-- same creator with the same key answers the account it made the first time.
ALTER TABLE credentials ADD COLUMN created_by text;
ALTER TABLE credentials ADD COLUMN idempotency_key text;
ALTER TABLE credentials ADD COLUMN idempotency_fingerprint text;
CREATE UNIQUE INDEX credentials_idempotency ON credentials (created_by, idempotency_key);

-- createActivationKey takes an idempotency key too, kept with the key's
-- reservation (the first of its two writes).
ALTER TABLE key_reservations ADD COLUMN idempotency_key text;
ALTER TABLE key_reservations ADD COLUMN idempotency_fingerprint text;
CREATE UNIQUE INDEX key_reservations_idempotency ON key_reservations (owner_id, idempotency_key);
