-- A full replay (`license-portal replay`) writes the views' rows into bare
-- tables and builds their secondary indexes, and SQLite's search index,
-- once at the end, as pg_restore does. The definitions it dropped wait here
-- meanwhile; a replay cut short leaves them, and the next start builds them.
CREATE TABLE deferred_indexes (
    name text    PRIMARY KEY,
    ord  integer NOT NULL,
    sql  text    NOT NULL
) STRICT;
