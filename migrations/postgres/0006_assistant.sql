-- The website chat assistant: a switch and a business description per account, and the
-- conversations (state in the database, so any process can answer the next turn).

ALTER TABLE website_forms ADD COLUMN assistant_enabled BIGINT NOT NULL DEFAULT 1;
ALTER TABLE website_forms ADD COLUMN description TEXT NOT NULL DEFAULT '';

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- what the visitor has told us so far (JSON), whichever provider answered
    details TEXT NOT NULL,
    -- the turns so far (JSON array of {"from": "visitor" | "assistant", "text"})
    transcript TEXT NOT NULL,
    -- set once, when the conversation's one lead is created
    lead_id TEXT REFERENCES leads (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX conversations_account ON conversations (account_id, created_at);
