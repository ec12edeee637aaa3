-- The cqrs-es event store (sqlite-es reads and writes these columns), plus a
-- global order. SQLite has one writer, so a position taken inside the insert is
-- already the commit order. It cannot be an AUTOINCREMENT key here: sqlite-es
-- recognises a concurrent append by the primary-key violation of
-- (aggregate_type, aggregate_id, sequence), so that must stay the primary key;
-- the trigger numbers each row instead.
CREATE TABLE events (
    aggregate_type  text    NOT NULL,
    aggregate_id    text    NOT NULL,
    sequence        integer NOT NULL CHECK (sequence >= 0),
    event_type      text    NOT NULL,
    event_version   text    NOT NULL,
    payload         text    NOT NULL,
    metadata        text    NOT NULL,
    global_position integer,
    transaction_id  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;
CREATE UNIQUE INDEX events_global_position ON events (global_position);

CREATE TRIGGER events_number AFTER INSERT ON events
BEGIN
    UPDATE events
       SET global_position = (SELECT coalesce(max(global_position), 0) + 1 FROM events)
     WHERE rowid = NEW.rowid;
END;

CREATE TABLE snapshots (
    aggregate_type   text    NOT NULL,
    aggregate_id     text    NOT NULL,
    last_sequence    integer NOT NULL CHECK (last_sequence >= 0),
    current_snapshot integer NOT NULL CHECK (current_snapshot >= 0),
    payload          text    NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;
