-- portal-sessions schema, version 3: recovery (a used or expired link that asks for a new one by
-- email) and a customer's own locale. `{schema}` is replaced by the validated, quoted schema name.
--
-- Every column is added without a default or with a constant one, which rewrites no row. A row
-- from before this migration reads as a session minted by the API without recovery (a customer
-- revoked before the upgrade must not find their old links asking for new ones), whose chain of
-- recoveries starts at its own creation (chain_started_at NULL). Every insert names each column.
ALTER TABLE {schema}.portal_sessions
    ADD COLUMN IF NOT EXISTS customer_locale text
        CHECK (octet_length(customer_locale) BETWEEN 2 AND 6),
    ADD COLUMN IF NOT EXISTS recovery boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS recovery_ended_at timestamptz,
    -- 0: the API, 1: a recovery of `recovered_from`, 2: the login page.
    ADD COLUMN IF NOT EXISTS minted_by smallint NOT NULL DEFAULT 0
        CHECK (minted_by BETWEEN 0 AND 2),
    ADD COLUMN IF NOT EXISTS recovered_from bytea
        CHECK (octet_length(recovered_from) = 16),
    ADD COLUMN IF NOT EXISTS chain_started_at timestamptz,
    -- Where the link opens the portal: an invoice's page, or a section (a feature's name).
    ADD COLUMN IF NOT EXISTS deep_link_invoice text
        CHECK (char_length(deep_link_invoice) BETWEEN 1 AND 64),
    ADD COLUMN IF NOT EXISTS deep_link_section text
        CHECK (deep_link_section IN ('invoices', 'subscriptions', 'usage', 'profile'));

ALTER TABLE {schema}.portal_sessions
    DROP CONSTRAINT IF EXISTS portal_sessions_recovered_from_iff_recovery,
    ADD CONSTRAINT portal_sessions_recovered_from_iff_recovery
        CHECK ((minted_by = 1) = (recovered_from IS NOT NULL)),
    DROP CONSTRAINT IF EXISTS portal_sessions_one_deep_link,
    ADD CONSTRAINT portal_sessions_one_deep_link
        CHECK (deep_link_invoice IS NULL OR deep_link_section IS NULL);
