-- Snapshots written before this version could count the events of the
-- command that took them twice. They are only a cache of the event log:
-- dropping them makes every stream load from its events once, and the next
-- snapshot is written from the correct state.
DELETE FROM snapshots;
