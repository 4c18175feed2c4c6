-- Auto-routing: one settings row per account (also the row that serialises routing
-- decisions and holds the next seq), each member's last routed seq, and the receipt
-- kept with every routed lead.

CREATE TABLE routing_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    enabled BIGINT NOT NULL DEFAULT 0,
    strategy TEXT NOT NULL DEFAULT 'round_robin' CHECK (strategy IN ('round_robin', 'balanced')),
    -- the saved picks, a JSON array of user ids, as saved
    rotation TEXT NOT NULL DEFAULT '[]',
    next_seq BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT,
    updated_by TEXT REFERENCES users (id)
);
INSERT INTO routing_settings (account_id) SELECT id FROM accounts;

-- NULL: never received a routed lead (first in line).
ALTER TABLE users ADD COLUMN last_routed_seq BIGINT;
ALTER TABLE leads ADD COLUMN routing_receipt TEXT;
CREATE UNIQUE INDEX leads_routing_seq ON leads (account_id, routing_seq);
CREATE INDEX lead_events_kind_at ON lead_events (account_id, kind, at);
