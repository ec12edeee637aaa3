-- The cqrs-es event store (postgres-es reads and writes these columns), plus a
-- global order: an identity position and the writing transaction's id. A
-- reader takes only events of transactions older than every one still running
-- (pg_snapshot_xmin), ordered by (transaction_id, global_position), so a slow
-- transaction never makes it skip an event.
CREATE TABLE events (
    aggregate_type  text   NOT NULL,
    aggregate_id    text   NOT NULL,
    sequence        bigint NOT NULL CHECK (sequence >= 0),
    event_type      text   NOT NULL,
    event_version   text   NOT NULL,
    payload         json   NOT NULL,
    metadata        json   NOT NULL,
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8   NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE UNIQUE INDEX events_global_order ON events (transaction_id, global_position);
CREATE UNIQUE INDEX events_global_position ON events (global_position);

CREATE TABLE snapshots (
    aggregate_type   text   NOT NULL,
    aggregate_id     text   NOT NULL,
    last_sequence    bigint NOT NULL CHECK (last_sequence >= 0),
    current_snapshot bigint NOT NULL CHECK (current_snapshot >= 0),
    payload          json   NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
