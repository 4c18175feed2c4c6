-- Availability and capacity: each member's time zone, weekly working hours (JSON array of
-- {"day", "start", "end"}; empty = always), the Away switch and an optional daily cap.
-- routed_day / routed_on_day count the routed leads of the member's current local day
-- (yyyymmdd), kept in the transaction of every routed lead like open_leads.
ALTER TABLE users ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN working_hours TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN away BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN daily_cap BIGINT;
ALTER TABLE users ADD COLUMN routed_day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN routed_on_day BIGINT NOT NULL DEFAULT 0;

CREATE TABLE time_off (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    reason TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
-- Routing reads the time off that has not ended yet.
CREATE INDEX time_off_ends ON time_off (account_id, ends_at);

-- "Only route during working hours", per rotation (the default's beside its settings).
ALTER TABLE routing_settings ADD COLUMN working_hours_only BIGINT NOT NULL DEFAULT 1;
ALTER TABLE rotations ADD COLUMN working_hours_only BIGINT NOT NULL DEFAULT 1;
