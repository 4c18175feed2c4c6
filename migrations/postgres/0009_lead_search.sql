-- Lists filtered by source walk their own index, as owner and status filters do: an account
-- with no imported leads answers `source=import` at once instead of reading all its leads.
CREATE INDEX leads_source_newest ON leads (account_id, source, created_at, id);

-- Search that stays fast at a million leads per account: a trigram GIN index on
-- search_text (lower-cased name, email and company) serves `search_text LIKE '%q%'`, which
-- the planner uses for a term its statistics say is rare (a common one is found sooner by
-- walking leads_newest).
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database owner
-- may create it. Where it cannot be had (a managed server without contrib, a role without
-- CREATE on the database), the migration still succeeds and search still works, by walking
-- the account's leads as before this migration: the notice says so, and running the two
-- blocks below later (as a role that may) adds the index.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): lead search will scan the account''s leads', SQLERRM;
END
$$;

-- The operator class is named with the extension's schema, wherever it was installed.
DO $$
DECLARE
    trgm_schema name;
BEGIN
    SELECT n.nspname INTO trgm_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS leads_search_trgm ON leads USING gin (search_text %I.gin_trgm_ops)',
            trgm_schema
        );
    END IF;
END
$$;
