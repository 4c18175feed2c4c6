-- What an Idempotency-Key was first used with (a hash of the validated submission), so a
-- reuse with a different request is refused. Keys stored before this have none and keep
-- returning their lead.
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT;
