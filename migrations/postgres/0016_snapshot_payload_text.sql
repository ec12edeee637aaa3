-- A snapshot is this service's own cache of a state, written and read as a
-- whole, never queried inside: as json, PostgreSQL parsed every one it was
-- given (16 MB for an account with 100,000 licenses) only to check it, and
-- compressed it with pglz (315 ms of the server's CPU for 28 MB, 171 ms with
-- lz4). SQLite's column is text already.
ALTER TABLE snapshots ALTER COLUMN payload TYPE text;

-- lz4 where the server was built with it; otherwise the default stays.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE snapshots ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'snapshots keep the default compression: %', SQLERRM;
END
$$;
