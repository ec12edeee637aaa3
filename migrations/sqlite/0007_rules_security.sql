-- The ledger's state now remembers how often each key was activated, when
-- the last license file of a key's device expires, and the running trials.
-- Snapshots written before lack them (they would load as "never on a
-- device"); they are only a cache of the event log, so every stream loads
-- from its events once and the next snapshot has them.
DELETE FROM snapshots;
