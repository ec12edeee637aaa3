-- The ledger's state now remembers how often each key was activated, when
-- the last license file of a key's device expires, and the running trials.
-- Snapshots written before lack them (they would load as "never on a
-- device"); they are only a cache of the event log, so every stream loads
-- from its events once and the next snapshot has them.
DELETE FROM snapshots;

-- Idempotency keys are kept per sender: a partner acting on its reseller's
-- stream has keys of its own, in a column of their own ('' is the stream's
-- owner) rather than joined into the key's text, where a key the reseller
-- picked could spell the partner's. Rows written before stay the owner's, as
-- the events they came from (which a replay reads again) say.
CREATE TABLE idempotency_results_by_sender (
    account_id text NOT NULL,
    sender     text NOT NULL DEFAULT '',
    key        text NOT NULL,
    entity_id  text NOT NULL,
    PRIMARY KEY (account_id, sender, key)
);
INSERT INTO idempotency_results_by_sender (account_id, sender, key, entity_id)
    SELECT account_id, '', key, entity_id FROM idempotency_results;
DROP TABLE idempotency_results;
ALTER TABLE idempotency_results_by_sender RENAME TO idempotency_results;
