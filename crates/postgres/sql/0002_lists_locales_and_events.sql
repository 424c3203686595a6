-- portal-sessions-postgres migration 2 (lists_locales_and_events) for the schema "portal_sessions",
-- as portal_sessions_postgres::migrations_sql renders it: do not edit. Apply the
-- migrations in order, each in one transaction. The last statement records this one in
-- the schema's portal_sessions_migrations table, which Migrations::Verify checks.

-- Waits for any other portal-sessions migration of this schema.
SELECT pg_advisory_xact_lock(28787, hashtext('portal_sessions'));

-- portal-sessions schema, version 2: a session's locale, the indexes of lists by status, and events.
--
-- Adding columns without a default, or with a constant one, rewrites no row. The indexes are
-- built inside the migration's transaction, which holds writes to the table while they build: on
-- a large table, create them beforehand with CREATE INDEX CONCURRENTLY under these names (IF NOT
-- EXISTS keeps this migration from building them again).
ALTER TABLE "portal_sessions".portal_sessions
    ADD COLUMN IF NOT EXISTS locale text CHECK (octet_length(locale) BETWEEN 2 AND 6);

-- active lists: used and not revoked.
CREATE INDEX IF NOT EXISTS portal_sessions_active_list
    ON "portal_sessions".portal_sessions (org_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_active_customer_list
    ON "portal_sessions".portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL AND revoked_at IS NULL;
-- expired lists: sessions not revoked.
CREATE INDEX IF NOT EXISTS portal_sessions_unrevoked_list
    ON "portal_sessions".portal_sessions (org_id, created_at DESC, id DESC)
    WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_unrevoked_customer_list
    ON "portal_sessions".portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE revoked_at IS NULL;
-- used lists (entries only ever arrive).
CREATE INDEX IF NOT EXISTS portal_sessions_used_list
    ON "portal_sessions".portal_sessions (org_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_used_customer_list
    ON "portal_sessions".portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE used_at IS NOT NULL;
-- revoked lists (entries only ever arrive).
CREATE INDEX IF NOT EXISTS portal_sessions_revoked_list
    ON "portal_sessions".portal_sessions (org_id, created_at DESC, id DESC)
    WHERE revoked_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS portal_sessions_revoked_customer_list
    ON "portal_sessions".portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE revoked_at IS NOT NULL;

-- Events (see the crate docs): when a portal was signed out of, which of a session's events were
-- delivered (the bits of portal_sessions::EventKinds: 1 created, 2 redeemed, 4 logged out,
-- 8 revoked), and who holds them for delivery until when. None of these columns has a default
-- that needs computing, so adding them rewrites no row. `events_delivered` is NULL in the rows of
-- sessions minted before this migration: their events are not announced (the new store writes 0).
ALTER TABLE "portal_sessions".portal_sessions
    ADD COLUMN IF NOT EXISTS logged_out_at timestamptz,
    ADD COLUMN IF NOT EXISTS events_delivered smallint CHECK (events_delivered BETWEEN 0 AND 15),
    ADD COLUMN IF NOT EXISTS events_attempts integer NOT NULL DEFAULT 0
        CHECK (events_attempts >= 0),
    ADD COLUMN IF NOT EXISTS events_claimant text,
    ADD COLUMN IF NOT EXISTS events_not_before timestamptz;
-- The feed: sessions whose events, as their timestamps say them, are not all delivered, oldest
-- first. The expression is the store's own (crates/postgres/src/feed.rs), text for text.
CREATE INDEX IF NOT EXISTS portal_sessions_undelivered
    ON "portal_sessions".portal_sessions (created_at, id)
    WHERE events_delivered IS NOT NULL
      AND (1 | CASE WHEN used_at IS NOT NULL THEN 2 ELSE 0 END
             | CASE WHEN logged_out_at IS NOT NULL THEN 4 ELSE 0 END
             | CASE WHEN revoked_at IS NOT NULL THEN 8 ELSE 0 END) <> events_delivered;

INSERT INTO "portal_sessions".portal_sessions_migrations (version, name)
    VALUES (2, 'lists_locales_and_events');
