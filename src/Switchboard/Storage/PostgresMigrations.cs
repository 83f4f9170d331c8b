namespace Switchboard.Storage;

/// <summary>
/// The PostgreSQL schema, versioned like <see cref="SqliteMigrations"/> (step N here is step N
/// there). JSON columns are <c>jsonb</c>; times are epoch milliseconds as in SQLite, so the
/// shared SQL reads the same on both. Processes that start at once serialize on an advisory
/// lock, so each step is applied once. Never edit a shipped entry: add one.
/// </summary>
public static class PostgresMigrations
{
    // Any constant, the same in every process: the lock that serializes migrations.
    private const long MigrationLock = 0x5357_4254_4348;

    private static readonly string[] Steps =
    [
        // 1: the request spine.
        """
        CREATE TABLE meta (key text PRIMARY KEY, value bigint NOT NULL);
        INSERT INTO meta (key, value) VALUES ('catalog_version', 0), ('auth_version', 0);

        CREATE TABLE users (
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            is_admin integer NOT NULL DEFAULT 0,
            password_hash text,
            credits bigint NOT NULL DEFAULT 0 CHECK (credits >= 0),
            created_at bigint NOT NULL);

        CREATE TABLE api_keys (
            prefix text PRIMARY KEY,
            key_hash text NOT NULL UNIQUE,
            user_id text NOT NULL REFERENCES users(id),
            created_at bigint NOT NULL,
            revoked_at bigint);

        -- Append-only. The unique index makes a second charge (or refund) of one run of one
        -- request impossible, whatever retries or redeliveries happen.
        CREATE TABLE ledger (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id text NOT NULL REFERENCES users(id),
            kind text NOT NULL CHECK (kind IN ('grant', 'charge', 'refund', 'adjust')),
            amount bigint NOT NULL,
            request_id text,
            request_seq bigint,
            run integer,
            note text,
            created_at bigint NOT NULL);
        CREATE UNIQUE INDEX ledger_once ON ledger (request_seq, run, kind) WHERE request_seq IS NOT NULL;
        CREATE INDEX ledger_user ON ledger (user_id, id);

        CREATE TABLE handlers (
            id text PRIMARY KEY,
            credits integer NOT NULL CHECK (credits >= 0),
            resource text,
            enabled integer NOT NULL DEFAULT 1);

        CREATE TABLE offers (
            service text NOT NULL,
            action text NOT NULL,
            handler text NOT NULL REFERENCES handlers(id),
            price bigint NOT NULL CHECK (price >= 0),
            prompt_template text NOT NULL,
            create_qty integer NOT NULL CHECK (create_qty >= 1),
            expiration integer,
            params jsonb NOT NULL DEFAULT '{}',
            enabled integer NOT NULL DEFAULT 1,
            PRIMARY KEY (service, action));

        CREATE TABLE requests (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            user_id text NOT NULL REFERENCES users(id),
            kind text NOT NULL,
            service text NOT NULL,
            action text NOT NULL,
            handler text NOT NULL,
            status text NOT NULL,
            inputs jsonb NOT NULL,
            prompt text NOT NULL,
            params jsonb NOT NULL,
            create_qty integer NOT NULL,
            expiration integer,
            price bigint NOT NULL,
            run integer NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            max_attempts integer NOT NULL,
            owner text,
            lease_until bigint,
            not_before bigint,
            results jsonb,
            error_code text,
            error_message text,
            usage jsonb,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            started_at bigint,
            finished_at bigint,
            expires_at bigint);
        CREATE INDEX requests_status ON requests (status, lease_until);
        CREATE INDEX requests_expiry ON requests (expires_at) WHERE expires_at IS NOT NULL;
        """,

        // 2: partial indexes for what recon scans, instead of one on (status, lease_until) that
        // every by-id statement could be planned through (see JobStore: statements that find
        // their row by id compare the status with a parameter, which no partial index matches).
        """
        DROP INDEX requests_status;
        CREATE INDEX requests_running ON requests (lease_until) WHERE status = 'running';
        CREATE INDEX requests_queued ON requests (seq) WHERE status = 'queued';
        """,

        // 3: the change counter of app configs (Config/ConfigStore.cs). Their table is created by
        // ConfigStore itself, since the bootstrap names it (meta.collection).
        """
        INSERT INTO meta (key, value) VALUES ('config_version', 0);
        """,

        // 4: user credits. `actor` says who made a grant or an adjustment (the OS user of the
        // CLI, its --actor, or the admin API's user); charges and refunds leave it null (their
        // request says whose they are). requests_user serves GET /svc/me/ (a user's requests
        // over a period).
        """
        ALTER TABLE ledger ADD COLUMN actor text;
        CREATE INDEX requests_user ON requests (user_id, created_at);
        """,

        // 5: usage per minute and (resource, handler, user), written by Usage/UsageFlusher.cs
        // (upserts that add up). The key leads with the minute: the queries read a time range.
        """
        CREATE TABLE usage_minutes (
            minute bigint NOT NULL,
            resource text NOT NULL DEFAULT '',
            handler text NOT NULL,
            user_id text NOT NULL,
            calls bigint NOT NULL DEFAULT 0,
            integration_credits bigint NOT NULL DEFAULT 0,
            user_credits bigint NOT NULL DEFAULT 0,
            errors bigint NOT NULL DEFAULT 0,
            latency_sum_ms bigint NOT NULL DEFAULT 0,
            latency_max_ms bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (minute, resource, handler, user_id));
        """,

        // 6: deals (see the SQLite step for what each part is).
        """
        CREATE TABLE deals (
            name text PRIMARY KEY,
            offers jsonb NOT NULL,
            price integer CHECK (price >= 0),
            price_modifier integer NOT NULL DEFAULT 0 CHECK (price_modifier BETWEEN 0 AND 100),
            addons jsonb NOT NULL DEFAULT '[]',
            addons_modifier integer NOT NULL DEFAULT 0 CHECK (addons_modifier BETWEEN 0 AND 100),
            enabled integer NOT NULL DEFAULT 1);
        ALTER TABLE requests ADD COLUMN parent text;
        ALTER TABLE requests ADD COLUMN step integer;
        ALTER TABLE requests ADD COLUMN pipeline text;
        CREATE INDEX requests_parent ON requests (parent, step) WHERE parent IS NOT NULL;
        ALTER TABLE ledger ADD COLUMN step integer;
        DROP INDEX ledger_once;
        CREATE UNIQUE INDEX ledger_once ON ledger (request_seq, run, kind, COALESCE(step, -1)) WHERE request_seq IS NOT NULL;
        """,

        // 7: the admins' searches (Requests/RequestAdmin.cs, the panel's Requests page and
        // dashboard), measured in bench/README.md: a user's requests newest first without sorting
        // all of them; the failed ones (where retries start) without walking the table; a time
        // range (and the dashboard's last 24 h) without reading older history. user_id, seq and
        // created_at never change, so the first and last cost one entry per insert; the partial
        // index holds failed requests only.
        """
        CREATE INDEX requests_user_seq ON requests (user_id, seq);
        CREATE INDEX requests_failed ON requests (seq) WHERE status = 'failed';
        CREATE INDEX requests_created ON requests (created_at);
        """,

        // 8: what every process of a deployment must see alike, for the admin panel and the
        // health endpoint. The Data Protection keys that sign the login cookie and the
        // antiforgery tokens (Admin/Panel/PanelKeyRing.cs; each sealed with the Fernet key when
        // there is one), so a cookie made by one process opens the panel on another and survives
        // restarts. The failed logins per user name and per name and address (LoginThrottle.cs;
        // column name holds the key), so a lockout holds across processes; a failure row lives
        // until its lockout ends, and the index lets each new failure clear the expired ones. The alerts the leading recon reports as firing, and
        // when it last reported (Recon/AlertBoard.cs), so an api process shows them too.
        """
        CREATE TABLE panel_keys (name TEXT PRIMARY KEY, xml TEXT NOT NULL, created_at BIGINT NOT NULL);
        CREATE TABLE login_failures (name TEXT PRIMARY KEY, failures INTEGER NOT NULL, until_ms BIGINT NOT NULL);
        CREATE INDEX login_failures_until ON login_failures (until_ms);
        CREATE TABLE alerts_firing (alert TEXT NOT NULL, subject TEXT NOT NULL, summary TEXT NOT NULL, since_ms BIGINT NOT NULL, PRIMARY KEY (alert, subject));
        INSERT INTO meta (key, value) VALUES ('alerts_reported_at', 0);
        """,

        // 9: the admins' searches by offer or deal (RequestAdmin.SearchSql: service and action,
        // a deal's row being service 'deal'), newest first, without walking the table back
        // from the newest request: an offer with few requests read every row before (measured
        // in bench/README.md). service, action and seq never change: one entry per insert.
        """
        CREATE INDEX requests_target_seq ON requests (service, action, seq);
        """,

        // 10: who made which config version active, and when (Config/ConfigStore.cs): a push
        // that activates, a rollback (or roll forward) from the CLI, the admin API or the panel.
        // The configs table is named by the bootstrap (meta.collection), hence the column.
        """
        CREATE TABLE config_activations (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            collection TEXT NOT NULL,
            config_id TEXT NOT NULL,
            version TEXT NOT NULL,
            previous TEXT,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            at BIGINT NOT NULL);
        CREATE INDEX config_activations_id ON config_activations (collection, config_id, seq);
        """,

        // 11: users' security state (Users/UserSecurity.cs): a stamp that changes whenever the
        // password changes, admin rights are removed or the user is disabled (a panel session
        // carries the stamp it was opened with and ends when it differs), and when the user was
        // disabled (its keys stop authenticating, it cannot log in). Existing users start with
        // the empty stamp, which their next change replaces.
        """
        ALTER TABLE users ADD COLUMN security_stamp TEXT NOT NULL DEFAULT '';
        ALTER TABLE users ADD COLUMN disabled_at BIGINT;
        """,

        // 12: the audit trail, as in SqliteMigrations. The triggers
        // refuse UPDATE, DELETE and TRUNCATE whatever the caller.
        """
        CREATE TABLE audit_log (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT,
            action TEXT NOT NULL,
            target TEXT,
            status INTEGER,
            details TEXT);
        CREATE INDEX audit_log_actor ON audit_log (actor, id);
        CREATE INDEX audit_log_action ON audit_log (action, id);
        CREATE INDEX audit_log_target ON audit_log (target, id);
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
        'BEGIN RAISE EXCEPTION ''audit_log is append-only''; END';
        CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
        """,
    ];

    public static int Latest => Steps.Length;

    public static void Apply(PostgresStore store)
    {
        using var connection = store.Open();
        using var transaction = connection.BeginTransaction();
        connection.Execute("SELECT pg_advisory_xact_lock(@lock)", ("@lock", MigrationLock));
        connection.Execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
        var current = connection.Scalar<long?>("SELECT MAX(version) FROM schema_migrations") ?? 0;
        if (current > Steps.Length)
        {
            throw new InvalidOperationException($"The database at {store.Description} has schema version {current}, newer than this build ({Steps.Length}).");
        }
        for (var version = (int)current + 1; version <= Steps.Length; version++)
        {
            SqlExtensions.Exec(connection, Steps[version - 1]);
            connection.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @t)", ("@v", version), ("@t", Clock.NowMs()));
        }
        transaction.Commit();
    }
}
