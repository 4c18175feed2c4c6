-- Leads, their history, and each member's open-lead count (kept exact in the same
-- transaction as every owner or status change, so routing never counts leads).

CREATE TABLE leads (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    company TEXT,
    notes TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost', 'dormant')),
    source TEXT NOT NULL CHECK (source IN ('team', 'assistant', 'website', 'import')),
    owner_id TEXT REFERENCES users (id),
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    routing_strategy TEXT,
    routing_seq BIGINT,
    routing_reason TEXT,
    -- lower-cased name, email and company, for search
    search_text TEXT NOT NULL
);
CREATE INDEX leads_newest ON leads (account_id, created_at, id);
CREATE INDEX leads_owner_newest ON leads (account_id, owner_id, created_at, id);
CREATE INDEX leads_status_newest ON leads (account_id, status, created_at, id);

CREATE TABLE lead_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    lead_id TEXT NOT NULL REFERENCES leads (id),
    at BIGINT NOT NULL,
    actor_id TEXT REFERENCES users (id),
    kind TEXT NOT NULL,
    from_owner_id TEXT REFERENCES users (id),
    to_owner_id TEXT REFERENCES users (id),
    detail TEXT NOT NULL
);
CREATE INDEX lead_events_lead ON lead_events (account_id, lead_id, id);

ALTER TABLE users ADD COLUMN open_leads BIGINT NOT NULL DEFAULT 0;
