-- The tamper-evident chain over the global log: each event's hash covers the
-- previous one's, so editing a stored event shows at its position. `ordinal`
-- is the event's place in chain order (the log's commit order), which on
-- PostgreSQL is not always the order of positions.
CREATE TABLE event_hashes (
    position bigint PRIMARY KEY,
    ordinal  bigint NOT NULL UNIQUE,
    hash     text   NOT NULL
);

-- Its own consumer of the log, from the start: a database that already holds
-- events gets its whole history chained, and rebuilding the views leaves the
-- chain as it was.
INSERT INTO log_checkpoints (consumer, transaction_id, position) VALUES ('hashes', 0, 0);
