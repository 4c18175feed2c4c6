-- Whether the hosted form and the embed snippet ask for a visitor's country and company
-- size (the routing rules can use them). Off by default: the form stays as it was.
ALTER TABLE website_forms ADD COLUMN ask_country_size BIGINT NOT NULL DEFAULT 0;
