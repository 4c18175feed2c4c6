-- The public website form (one key per account), idempotency keys for its intake, the
-- public endpoints' rate-limit windows, and in-app notifications.

CREATE TABLE website_forms (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    form_key TEXT NOT NULL UNIQUE,
    -- JSON array of URL prefixes a form post may redirect to after sending
    allowed_redirects TEXT NOT NULL DEFAULT '[]',
    updated_at INTEGER
);
INSERT INTO website_forms (account_id, form_key) SELECT id, lower(hex(randomblob(16))) FROM accounts;

CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    idem_key TEXT NOT NULL,
    lead_id TEXT NOT NULL REFERENCES leads (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);

CREATE TABLE rate_limits (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    bucket TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (account_id, bucket, window_start)
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    lead_id TEXT REFERENCES leads (id),
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_user ON notifications (account_id, user_id, created_at);
CREATE INDEX notifications_unread ON notifications (account_id, user_id, read_at);
