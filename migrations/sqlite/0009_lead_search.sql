-- Lists and search that stay fast at a million leads per account.
--
-- Lists filtered by source walk their own index, as owner and status filters do: an account
-- with no imported leads answers `source=import` at once instead of reading all its leads.
CREATE INDEX leads_source_newest ON leads (account_id, source, created_at, id);

-- leads_search: a trigram full-text index of each lead's search_text (lower-cased name,
-- email and company), so `q` (a substring, as `search_text LIKE '%q%'` means) finds its
-- leads without reading every lead of the account. It is contentless and keeps no
-- positions or sizes (content '', detail none, columnsize 0): only which leads contain
-- each trigram. A search asks for the leads holding all of q's trigrams and checks each
-- with the LIKE, so the index only has to narrow, never to decide. The triggers below keep
-- it in step, whatever code writes the lead.
--
-- Its rowid is a sort key, not the lead's rowid: created_at in the high bits and the lead's
-- rowid modulo 2^21 in the low 21 bits. The index then hands out matches newest first, so
-- a search stops after a page of matches, and a match leads back to its lead through
-- leads_newest (account_id, created_at) plus the low bits. Two leads share a key only when
-- they have the same created_at millisecond and rowids a multiple of 2^21 apart.
--
-- The text indexed is lower(search_text) (ASCII lower-casing, as LIKE ignores ASCII case)
-- with a case-sensitive tokenizer, so a lower-cased q's trigrams are looked up as they are.
CREATE VIRTUAL TABLE leads_search USING fts5(
    search_text,
    content = '',
    detail = 'none',
    columnsize = 0,
    tokenize = 'trigram case_sensitive 1'
);

INSERT INTO leads_search (rowid, search_text)
SELECT (created_at << 21) | (rowid & 2097151), lower(search_text) FROM leads;

CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_search (rowid, search_text)
    VALUES ((new.created_at << 21) | (new.rowid & 2097151), lower(new.search_text));
END;

-- A contentless index forgets a row only when told the exact text it indexed.
CREATE TRIGGER leads_search_update AFTER UPDATE OF search_text, created_at ON leads
WHEN old.search_text IS NOT new.search_text OR old.created_at IS NOT new.created_at BEGIN
    INSERT INTO leads_search (leads_search, rowid, search_text)
    VALUES ('delete', (old.created_at << 21) | (old.rowid & 2097151), lower(old.search_text));
    INSERT INTO leads_search (rowid, search_text)
    VALUES ((new.created_at << 21) | (new.rowid & 2097151), lower(new.search_text));
END;

CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_search (leads_search, rowid, search_text)
    VALUES ('delete', (old.created_at << 21) | (old.rowid & 2097151), lower(old.search_text));
END;
