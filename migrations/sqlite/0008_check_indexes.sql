-- Indexes for reading one lead's events and notifications: the lead page's history and
-- leadroute check's per-lead invariants stay fast on large accounts.
CREATE INDEX lead_events_lead_kind ON lead_events (account_id, lead_id, kind);
CREATE INDEX notifications_lead ON notifications (account_id, lead_id);
