-- lead_events_lead_kind (account_id, lead_id, kind) already finds a lead's few events, for
-- leadroute check's per-lead counts by kind and for its history (sorting a handful of rows
-- by id); a second index on (account_id, lead_id, id) only cost every new event another
-- entry to write (about 4% of the pages a batch of website leads commits).
DROP INDEX lead_events_lead;
