-- Password-reset links can be withdrawn (by hand, or when their issuer leaves or is demoted),
-- like invitations already can. Issued-by lookups find a leaving member's links.
ALTER TABLE password_resets ADD COLUMN revoked_at INTEGER;
CREATE INDEX password_resets_issuer ON password_resets (account_id, created_by);
CREATE INDEX invitations_issuer ON invitations (account_id, invited_by);
