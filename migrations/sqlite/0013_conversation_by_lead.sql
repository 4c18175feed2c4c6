-- A lead's chat transcript is read from its conversation, found by lead_id. Only
-- conversations that made a lead are indexed, so a chat turn before then writes no page of
-- it and the index grows by one entry per assistant lead.
CREATE INDEX conversations_lead ON conversations (account_id, lead_id) WHERE lead_id IS NOT NULL;
