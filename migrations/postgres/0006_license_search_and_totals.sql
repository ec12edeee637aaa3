-- The licenses page counts and searches a partner's licenses on every
-- render; with 100,000 of them both scanned the table.
--
-- Counting: the filters the page offers (status, kind, product) all live in
-- these indexes, so a count can read the index alone.
CREATE INDEX licenses_scope_filters ON licenses (scope_id, deleted, kind, product, trial_ends_at);
CREATE INDEX licenses_owner_filters ON licenses (owner_id, deleted, kind, product, trial_ends_at);

-- Searching: the key, email and comment of a license, lower case, one per
-- line, kept by the projector.
ALTER TABLE licenses ADD COLUMN search_text text NOT NULL DEFAULT '';
UPDATE licenses SET search_text =
    lower(coalesce((SELECT key FROM activation_keys k WHERE k.id = licenses.key_id), '')
          || chr(10) || coalesce(email, '') || chr(10) || coalesce(comment, ''));

-- A trigram index answers LIKE '%text%' without a scan. pg_trgm ships with
-- PostgreSQL and is trusted (a database owner may create it), but a server
-- without it still works: searches then scan, and the log says so once here.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX licenses_search ON licenses USING gin (search_text gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_trgm is not available (%); license searches will scan the table', SQLERRM;
END
$$;

-- How many licenses each partner (its resellers' included), each owner and
-- the whole system hold, by product, kind and deletion, kept by the
-- projector. The licenses list's total for any mix of the product, kind and
-- status filters (but for telling running trials from expired ones, which
-- moves with the clock) is a sum of at most a few dozen of these rows.
-- subject: 'all', 'scope:<partner id>' or 'owner:<account id>'.
CREATE TABLE license_totals (
    subject text    NOT NULL,
    product text    NOT NULL,
    kind    text    NOT NULL,
    deleted bigint NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (subject, product, kind, deleted)
);
INSERT INTO license_totals (subject, product, kind, deleted, n)
    SELECT 'all', product, kind, deleted, count(*) FROM licenses GROUP BY product, kind, deleted;
INSERT INTO license_totals (subject, product, kind, deleted, n)
    SELECT 'scope:' || scope_id, product, kind, deleted, count(*) FROM licenses
     GROUP BY scope_id, product, kind, deleted;
INSERT INTO license_totals (subject, product, kind, deleted, n)
    SELECT 'owner:' || owner_id, product, kind, deleted, count(*) FROM licenses
     GROUP BY owner_id, product, kind, deleted;

-- How many credit entries each account has, kept by the projector with its
-- balance: the credit history's total without counting (100,000 entries
-- took 8 ms to count on every page).
ALTER TABLE accounts ADD COLUMN entries bigint NOT NULL DEFAULT 0;
UPDATE accounts SET entries = (SELECT count(*) FROM credit_entries c WHERE c.account_id = accounts.id);
