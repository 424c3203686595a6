-- portal-sessions schema, version 2: a session's locale, and the indexes of lists by status.
-- `{schema}` is replaced by the validated, quoted schema name.
--
-- Adding a nullable column without a default changes no row. The indexes are built inside the
-- migration's transaction, which holds writes to the table while they build: on a large table,
-- create them beforehand with CREATE INDEX CONCURRENTLY under these names (IF NOT EXISTS keeps
-- this migration from building them again).
ALTER TABLE {schema}.portal_sessions
    ADD COLUMN IF NOT EXISTS locale text CHECK (octet_length(locale) BETWEEN 2 AND 6);

-- active lists: used and not revoked.
CREATE INDEX IF NOT EXISTS portal_sessions_active_list
    ON {schema}.portal_sessions (org_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_active_customer_list
    ON {schema}.portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL AND revoked_at IS NULL;
-- expired lists: sessions not revoked.
CREATE INDEX IF NOT EXISTS portal_sessions_unrevoked_list
    ON {schema}.portal_sessions (org_id, created_at DESC, id DESC)
    WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_unrevoked_customer_list
    ON {schema}.portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE revoked_at IS NULL;
-- used lists (entries only ever arrive).
CREATE INDEX IF NOT EXISTS portal_sessions_used_list
    ON {schema}.portal_sessions (org_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_used_customer_list
    ON {schema}.portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL;
-- revoked lists (entries only ever arrive).
CREATE INDEX IF NOT EXISTS portal_sessions_revoked_list
    ON {schema}.portal_sessions (org_id, created_at DESC, id DESC)
    WHERE revoked_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_revoked_customer_list
    ON {schema}.portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE revoked_at IS NOT NULL;
