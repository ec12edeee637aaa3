-- What the portal shows in words instead of ids.
--
-- A support keeps the customer's email and comment, as a license does.
ALTER TABLE supports ADD COLUMN email text;
ALTER TABLE supports ADD COLUMN comment text;

-- What each credit entry was for, as JSON parts the portal puts into words
-- (product, edition, users or channels, months, key and its name, the other
-- account's name), written by the projector when it writes the entry, so
-- the history reads without joins and a replay writes the same. Entries
-- written before this version have none until the views are replayed; the
-- portal then shows the reason and the reference.
ALTER TABLE credit_entries ADD COLUMN detail text;

-- The administrator's own history lists the grants it made.
CREATE INDEX credit_entries_actor ON credit_entries (actor_id, reason, position);

-- A license search also finds the key's name and the key typed without its
-- dashes: both are added as lines of the search text (the trigram index
-- follows).
UPDATE licenses SET search_text = search_text || chr(10) || lower(coalesce(
        (SELECT name || chr(10) || replace(key, '-', '') FROM activation_keys k
          WHERE k.id = licenses.key_id), ''));

-- Ledger states now remember each subscription's terms (to price an
-- extension or more channels); snapshots without them are only a cache of
-- the log and are rebuilt from it.
DELETE FROM snapshots;
