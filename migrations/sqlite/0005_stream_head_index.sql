-- A mutation waits for the projector to pass the newest event of the stream
-- it wrote (read-your-writes). That lookup is by account id alone; without
-- this index it scanned the whole stream, which for a partner with 100,000
-- licenses cost more than the command itself.
CREATE INDEX events_stream_head ON events (aggregate_id, sequence);
