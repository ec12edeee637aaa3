-- When a key text was reserved: a reservation whose key never reached the
-- log (a crash between the two writes) is taken over by its owner's retry at
-- once, and by anyone else once it is this old. Rows from before have none
-- and count as old.
ALTER TABLE key_reservations ADD COLUMN reserved_at text;
