-- portal-sessions-postgres migration 1 (portal_sessions) for the schema "portal_sessions",
-- as portal_sessions_postgres::migrations_sql renders it: do not edit. Apply the
-- migrations in order, each in one transaction. The last statement records this one in
-- the schema's portal_sessions_migrations table, which Migrations::Verify checks.

-- Waits for any other portal-sessions migration of this schema.
SELECT pg_advisory_xact_lock(28787, hashtext('portal_sessions'));

-- The schema, and the table of the migrations applied to it, unless they exist.
CREATE SCHEMA IF NOT EXISTS "portal_sessions";
CREATE TABLE IF NOT EXISTS "portal_sessions".portal_sessions_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- portal-sessions schema, version 1.
CREATE TABLE "portal_sessions".portal_sessions (
    id                   bytea       PRIMARY KEY CHECK (octet_length(id) = 16),
    org_id               uuid        NOT NULL,
    customer_id          uuid        NOT NULL,
    customer_external_id text        NOT NULL,
    customer_name        text        NOT NULL,
    customer_email       text,
    features             smallint    NOT NULL CHECK (features BETWEEN 0 AND 15),
    return_url           text,
    verifier_hash        bytea       NOT NULL CHECK (octet_length(verifier_hash) = 32),
    viewer_hash          bytea       CHECK (octet_length(viewer_hash) = 32),
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    used_at              timestamptz,
    revoked_at           timestamptz,
    redeemed             boolean     NOT NULL DEFAULT false,
    redeemed_ip          inet,
    redeemed_user_agent  text,
    version              bigint      NOT NULL CHECK (version >= 0)
);

-- list: an organisation's sessions, newest first.
CREATE INDEX portal_sessions_org_list
    ON "portal_sessions".portal_sessions (org_id, created_at DESC, id DESC);
-- list with a customer filter.
CREATE INDEX portal_sessions_customer_list
    ON "portal_sessions".portal_sessions (org_id, customer_id, created_at DESC, id DESC);
-- open-only lists: only links not yet used or revoked are in these.
CREATE INDEX portal_sessions_open_list
    ON "portal_sessions".portal_sessions (org_id, created_at DESC, id DESC)
    WHERE used_at IS NULL AND revoked_at IS NULL;
CREATE INDEX portal_sessions_open_customer_list
    ON "portal_sessions".portal_sessions (org_id, customer_id, created_at DESC, id DESC)
    WHERE used_at IS NULL AND revoked_at IS NULL;
-- purge.
CREATE INDEX portal_sessions_expiry
    ON "portal_sessions".portal_sessions (expires_at);

INSERT INTO "portal_sessions".portal_sessions_migrations (version, name)
    VALUES (1, 'portal_sessions');
