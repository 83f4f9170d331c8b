namespace Switchboard.Storage;

/// <summary>
/// The schema of both stores, versioned: step N is the same step on SQLite and PostgreSQL,
/// written once. Where the stores differ, the difference stands here: a type or clause named by
/// <see cref="Dialect"/> in the shared text, or a whole statement chosen by
/// <see cref="Dialect.Pick"/>. Times are epoch milliseconds and JSON is <c>jsonb</c> on
/// PostgreSQL, text on SQLite, so the shared SQL of the features reads the same on both.
/// <see cref="MigrationRunner"/> applies the steps a store lacks. Never edit a shipped step
/// (SQLite keeps each CREATE as written, and Persistence/Schema/ holds what both stores end up
/// with): add one.
/// </summary>
public static class Migrations
{
    /// <summary>What the shared text of a step calls a type or clause that the stores spell differently.</summary>
    public sealed record Dialect(StoreKind Kind, string BigInt, string Json, string Identity, string WithoutRowId)
    {
        // SQLite's INTEGER is 64-bit; its INTEGER PRIMARY KEY is the rowid, which grows on insert.
        public static readonly Dialect Sqlite = new(StoreKind.Sqlite,
            BigInt: "INTEGER", Json: "TEXT", Identity: "INTEGER PRIMARY KEY", WithoutRowId: " WITHOUT ROWID");

        public static readonly Dialect Postgres = new(StoreKind.Postgres,
            BigInt: "bigint", Json: "jsonb", Identity: "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", WithoutRowId: "");

        public static Dialect Of(StoreKind kind) => kind == StoreKind.Sqlite ? Sqlite : Postgres;

        /// <summary>A statement that has no common form: each store's, side by side.</summary>
        public string Pick(string sqlite, string postgres) => Kind == StoreKind.Sqlite ? sqlite : postgres;
    }

    private static readonly Func<Dialect, string>[] Steps =
    [
        // 1: the request spine.
        d => $$"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value {{d.BigInt}} NOT NULL);
        INSERT INTO meta (key, value) VALUES ('catalog_version', 0), ('auth_version', 0);

        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            is_admin INTEGER NOT NULL DEFAULT 0,
            password_hash TEXT,
            credits {{d.BigInt}} NOT NULL DEFAULT 0 CHECK (credits >= 0),
            created_at {{d.BigInt}} NOT NULL);

        CREATE TABLE api_keys (
            prefix TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at {{d.BigInt}} NOT NULL,
            revoked_at {{d.BigInt}});

        -- Append-only (rows are never deleted, so ids only grow). The partial unique index
        -- makes a second charge (or refund) of one run of one request impossible, whatever
        -- retries or redeliveries happen. It is keyed by the request's seq, not its random id:
        -- seqs grow, so the index appends instead of dirtying a random page per request.
        CREATE TABLE ledger (
            id {{d.Identity}},
            user_id TEXT NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('grant', 'charge', 'refund', 'adjust')),
            amount {{d.BigInt}} NOT NULL,
            request_id TEXT,
            request_seq {{d.BigInt}},
            run INTEGER,
            note TEXT,
            created_at {{d.BigInt}} NOT NULL);
        CREATE UNIQUE INDEX ledger_once ON ledger (request_seq, run, kind) WHERE request_seq IS NOT NULL;
        CREATE INDEX ledger_user ON ledger (user_id, id);

        CREATE TABLE handlers (
            id TEXT PRIMARY KEY,
            credits INTEGER NOT NULL CHECK (credits >= 0),
            resource TEXT,
            enabled INTEGER NOT NULL DEFAULT 1);

        CREATE TABLE offers (
            service TEXT NOT NULL,
            action TEXT NOT NULL,
            handler TEXT NOT NULL REFERENCES handlers(id),
            price {{d.BigInt}} NOT NULL CHECK (price >= 0),
            prompt_template TEXT NOT NULL,
            create_qty INTEGER NOT NULL CHECK (create_qty >= 1),
            expiration INTEGER,
            params {{d.Json}} NOT NULL DEFAULT '{}',
            enabled INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (service, action));

        -- A request keeps a snapshot of its offer (handler, rendered prompt, params) so that a
        -- catalog edit never changes work that was already sold. seq orders requests by arrival.
        -- `run` counts re-runs of the same id (after failure, cancel or expiry); `attempts`
        -- counts claims within a run.
        CREATE TABLE requests (
            seq {{d.Identity}},
            id TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL,
            service TEXT NOT NULL,
            action TEXT NOT NULL,
            handler TEXT NOT NULL,
            status TEXT NOT NULL,
            inputs {{d.Json}} NOT NULL,
            prompt TEXT NOT NULL,
            params {{d.Json}} NOT NULL,
            create_qty INTEGER NOT NULL,
            expiration INTEGER,
            price {{d.BigInt}} NOT NULL,
            run INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            owner TEXT,
            lease_until {{d.BigInt}},
            not_before {{d.BigInt}},
            results {{d.Json}},
            error_code TEXT,
            error_message TEXT,
            usage {{d.Json}},
            created_at {{d.BigInt}} NOT NULL,
            updated_at {{d.BigInt}} NOT NULL,
            started_at {{d.BigInt}},
            finished_at {{d.BigInt}},
            expires_at {{d.BigInt}});
        CREATE INDEX requests_status ON requests (status, lease_until);
        CREATE INDEX requests_expiry ON requests (expires_at) WHERE expires_at IS NOT NULL;
        """,

        // 2: partial indexes for what recon scans, instead of one on (status, lease_until) that
        // every by-id statement could be planned through (see Lifecycle/RequestLifecycle.Execution.cs:
        // statements that find their row by id compare the status with a parameter, which no
        // partial index matches).
        _ => """
        DROP INDEX requests_status;
        CREATE INDEX requests_running ON requests (lease_until) WHERE status = 'running';
        CREATE INDEX requests_queued ON requests (seq) WHERE status = 'queued';
        """,

        // 3: the change counter of app configs (Config/ConfigStore.cs). Their table is created by
        // ConfigStore itself, since the bootstrap names it (meta.collection).
        _ => """
        INSERT INTO meta (key, value) VALUES ('config_version', 0);
        """,

        // 4: user credits. `actor` says who made a grant or an adjustment (the OS user of the
        // CLI, its --actor, or the admin API's user); charges and refunds leave it null (their
        // request says whose they are). requests_user serves GET /svc/me/ (a user's requests
        // over a period).
        _ => """
        ALTER TABLE ledger ADD COLUMN actor TEXT;
        CREATE INDEX requests_user ON requests (user_id, created_at);
        """,

        // 5: usage per minute and (resource, handler, user), written by Usage/UsageFlusher.cs
        // (upserts that add up). The key leads with the minute: the queries read a time range.
        // WITHOUT ROWID (SQLite): the rows live in the key's b-tree, not in a second one.
        d => $$"""
        CREATE TABLE usage_minutes (
            minute {{d.BigInt}} NOT NULL,
            resource TEXT NOT NULL DEFAULT '',
            handler TEXT NOT NULL,
            user_id TEXT NOT NULL,
            calls {{d.BigInt}} NOT NULL DEFAULT 0,
            integration_credits {{d.BigInt}} NOT NULL DEFAULT 0,
            user_credits {{d.BigInt}} NOT NULL DEFAULT 0,
            errors {{d.BigInt}} NOT NULL DEFAULT 0,
            latency_sum_ms {{d.BigInt}} NOT NULL DEFAULT 0,
            latency_max_ms {{d.BigInt}} NOT NULL DEFAULT 0,
            PRIMARY KEY (minute, resource, handler, user_id)){{d.WithoutRowId}};
        """,

        // 6: deals (Deals/). A deal's definition is its catalog row; its items (offers and
        // add-ons, each "service/action" with a pipeline mode) are kept as JSON lists. A deal
        // request is a `requests` row of kind 'deal' that holds the charge; each of its items is a
        // row of kind 'step' (parent = the deal's id, step = its place, pipeline = its mode) that
        // the executor runs like any request. A step's refund is a ledger row of the deal's seq
        // and run with the step's place, hence `step` joins the unique key of ledger_once.
        d => $$"""
        CREATE TABLE deals (
            name TEXT PRIMARY KEY,
            offers {{d.Json}} NOT NULL,
            price INTEGER CHECK (price >= 0),
            price_modifier INTEGER NOT NULL DEFAULT 0 CHECK (price_modifier BETWEEN 0 AND 100),
            addons {{d.Json}} NOT NULL DEFAULT '[]',
            addons_modifier INTEGER NOT NULL DEFAULT 0 CHECK (addons_modifier BETWEEN 0 AND 100),
            enabled INTEGER NOT NULL DEFAULT 1);
        ALTER TABLE requests ADD COLUMN parent TEXT;
        ALTER TABLE requests ADD COLUMN step INTEGER;
        ALTER TABLE requests ADD COLUMN pipeline TEXT;
        CREATE INDEX requests_parent ON requests (parent, step) WHERE parent IS NOT NULL;
        ALTER TABLE ledger ADD COLUMN step INTEGER;
        DROP INDEX ledger_once;
        CREATE UNIQUE INDEX ledger_once ON ledger (request_seq, run, kind, COALESCE(step, -1)) WHERE request_seq IS NOT NULL;
        """,

        // 7: the admins' searches (Requests/RequestAdmin.cs, the panel's Requests page and
        // dashboard), measured in bench/README.md: a user's requests newest first without sorting
        // all of them; the failed ones (where retries start) without walking the table; a time
        // range (and the dashboard's last 24 h) without reading older history. user_id, seq and
        // created_at never change, so the first and last cost one entry per insert; the partial
        // index holds failed requests only.
        _ => """
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
        // until its lockout ends, and the index lets each new failure clear the expired ones. The
        // alerts the leading recon reports as firing, and when it last reported
        // (Recon/AlertBoard.cs), so an api process shows them too.
        d => $$"""
        CREATE TABLE panel_keys (name TEXT PRIMARY KEY, xml TEXT NOT NULL, created_at {{d.BigInt}} NOT NULL);
        CREATE TABLE login_failures (name TEXT PRIMARY KEY, failures INTEGER NOT NULL, until_ms {{d.BigInt}} NOT NULL);
        CREATE INDEX login_failures_until ON login_failures (until_ms);
        CREATE TABLE alerts_firing (alert TEXT NOT NULL, subject TEXT NOT NULL, summary TEXT NOT NULL, since_ms {{d.BigInt}} NOT NULL, PRIMARY KEY (alert, subject));
        INSERT INTO meta (key, value) VALUES ('alerts_reported_at', 0);
        """,

        // 9: the admins' searches by offer or deal (RequestAdmin.SearchSql: service and action,
        // a deal's row being service 'deal'), newest first, without walking the table back
        // from the newest request: an offer with few requests read every row before (measured
        // in bench/README.md). service, action and seq never change: one entry per insert.
        _ => """
        CREATE INDEX requests_target_seq ON requests (service, action, seq);
        """,

        // 10: who made which config version active, and when (Config/ConfigStore.cs): a push
        // that activates, a rollback (or roll forward) from the CLI, the admin API or the panel.
        // The configs table is named by the bootstrap (meta.collection), hence the column.
        d => $$"""
        CREATE TABLE config_activations (
            seq {{d.Identity}},
            collection TEXT NOT NULL,
            config_id TEXT NOT NULL,
            version TEXT NOT NULL,
            previous TEXT,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            at {{d.BigInt}} NOT NULL);
        CREATE INDEX config_activations_id ON config_activations (collection, config_id, seq);
        """,

        // 11: users' security state (Users/UserSecurity.cs): a stamp that changes whenever the
        // password changes, admin rights are removed or the user is disabled (a panel session
        // carries the stamp it was opened with and ends when it differs), and when the user was
        // disabled (its keys stop authenticating, it cannot log in). Existing users start with
        // the empty stamp, which their next change replaces.
        d => $$"""
        ALTER TABLE users ADD COLUMN security_stamp TEXT NOT NULL DEFAULT '';
        ALTER TABLE users ADD COLUMN disabled_at {{d.BigInt}};
        """,

        // 12: the audit trail (Audit/AuditLog.cs): every admin and operator action, append-only.
        // The triggers refuse UPDATE and DELETE (and TRUNCATE, which PostgreSQL has) whatever
        // the caller, so no code path (or hand-run SQL through the app's user) can rewrite
        // history. Indexes serve the read API's filters, each newest first by id.
        d => $$"""
        CREATE TABLE audit_log (
            id {{d.Identity}},
            at {{d.BigInt}} NOT NULL,
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

        """ + d.Pick(
            sqlite: """
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            """,
            postgres: """
            CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
            'BEGIN RAISE EXCEPTION ''audit_log is append-only''; END';
            CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
            CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
            """),

        // 13: binary results (Blobs/ResultBlobs.cs). A blob is stored once, keyed by the SHA-256
        // of its bytes, however many requests list it; result_blobs links each request run whose
        // results list it (request_id: the row holding the results, a deal's step or an offer's
        // request; root_id: the request its owner reads it through, the step's deal or the request
        // itself; media_type: as that run's handler declared it). A link is written in the unit of
        // the run's success and deleted with its results (expiry, re-run), and a blob no link names
        // is deleted in the same unit; the foreign key makes a blob's delete fail, rather than
        // leave a dangling link, if another process linked it meanwhile. PostgreSQL stores the
        // bytes uncompressed (EXTERNAL): images and audio are compressed already.
        d => $$"""
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY,
            bytes {{d.BigInt}} NOT NULL,
            content {{d.Pick("BLOB", "bytea")}} NOT NULL,
            created_at {{d.BigInt}} NOT NULL);
        CREATE TABLE result_blobs (
            root_id TEXT NOT NULL,
            sha256 TEXT NOT NULL REFERENCES blobs(sha256),
            request_id TEXT NOT NULL,
            run INTEGER NOT NULL,
            media_type TEXT NOT NULL,
            PRIMARY KEY (root_id, sha256, request_id, run)){{d.WithoutRowId}};
        CREATE INDEX result_blobs_blob ON result_blobs (sha256);
        {{d.Pick("", "ALTER TABLE blobs ALTER COLUMN content SET STORAGE EXTERNAL;")}}
        """,

        // 14, issue 18: a handler's integration credits per unit of usage (images, tokens), as JSON
        // {"images": 4, "total_tokens": 0.002}; null when it costs only per call.
        d => """
        ALTER TABLE handlers ADD COLUMN credits_per_unit TEXT;
        """,

        // 15, issue 19: the running attempt's last stored progress, as JSON
        // {"fraction": 0.4, "message": "…", "at": "…"} (Lifecycle/RequestLifecycle.Progress.cs);
        // null before the first report, and cleared when an attempt is claimed or gives its job back.
        d => """
        ALTER TABLE requests ADD COLUMN progress TEXT;
        """,

        // 16, issue 19: completion webhooks (Webhooks/). A request's one-off endpoint
        // (Switchboard-Webhook header), set when its run is submitted. Users' endpoints (events
        // as a bit mask, Webhooks/WebhookEvents.cs; secrets sealed with the bootstrap's Fernet
        // key, the previous one kept for the rotation's grace period) and each user's own secret
        // (one-off URLs). The outbox: an event per (request, run, final status, endpoint),
        // written in the unit of the final transition, its id the stable webhook-id. The
        // delivery log: one row per attempt, unique per (event, attempt number), inserted before
        // the attempt is sent, so two processes never send the same attempt.
        d => $$"""
        ALTER TABLE requests ADD COLUMN webhook_url TEXT;
        CREATE TABLE webhook_endpoints (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            url TEXT NOT NULL,
            event_mask INTEGER NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            disabled_reason TEXT,
            secret TEXT NOT NULL,
            previous_secret TEXT,
            previous_until {{d.BigInt}},
            created_at {{d.BigInt}} NOT NULL,
            updated_at {{d.BigInt}} NOT NULL);
        CREATE INDEX webhook_endpoints_user ON webhook_endpoints (user_id, enabled);
        CREATE TABLE webhook_user_secrets (
            user_id TEXT PRIMARY KEY,
            secret TEXT NOT NULL,
            previous_secret TEXT,
            previous_until {{d.BigInt}},
            created_at {{d.BigInt}} NOT NULL);
        CREATE TABLE webhook_events (
            seq {{d.Identity}},
            id TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            endpoint_id TEXT,
            url TEXT,
            type TEXT NOT NULL,
            request_id TEXT NOT NULL,
            run INTEGER NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at {{d.BigInt}} NOT NULL,
            window_from {{d.BigInt}} NOT NULL,
            lease_until {{d.BigInt}},
            payload TEXT,
            created_at {{d.BigInt}} NOT NULL,
            finished_at {{d.BigInt}});
        CREATE INDEX webhook_events_due ON webhook_events (status, next_at);
        CREATE INDEX webhook_events_endpoint ON webhook_events (endpoint_id, seq);
        CREATE TABLE webhook_attempts (
            seq {{d.Identity}},
            event_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            owner TEXT NOT NULL,
            started_at {{d.BigInt}} NOT NULL,
            finished_at {{d.BigInt}},
            outcome TEXT,
            status_code INTEGER,
            error TEXT,
            UNIQUE (event_id, attempt));
        """,

        // 17, issue 19: a user's own requests of one offer or deal, newest first
        // (Requests/RequestListQuery.cs, GET /svc/requests/?offer= or ?deal=), without walking all
        // of the user's requests (requests_user_seq) or all of the offer's (requests_target_seq).
        // user_id, service, action and seq never change: one entry per insert.
        _ => """
        CREATE INDEX requests_user_target_seq ON requests (user_id, service, action, seq);
        """,

        // 18, issue 20: the submit's W3C traceparent (Observability/Tracing.cs), written in the
        // request's insert when the submit is traced, read by the claim: the executor's spans
        // join the api's trace. Null when tracing is off or the submit was not sampled.
        _ => """
        ALTER TABLE requests ADD COLUMN trace_parent TEXT;
        """,

        // 19, issue 20: the format each request row is written in (Storage/Formats.cs). Every
        // row so far is format 1, the default; a claim skips a row newer than its build reads.
        // A constant default: PostgreSQL adds the column without rewriting the table.
        _ => """
        ALTER TABLE requests ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
        """,

        // 20, issue 20: retention (Retention/). usage_days: usage_minutes rolled up per UTC day
        // (same key with the day's first millisecond instead of the minute; sums added, the
        // latency max the max), written by the roll-up in the same unit that deletes the minutes
        // it read. requests_pruned: what the credits audit still needs of a request whose row was
        // pruned (or forgotten) while its ledger rows stay: whose it was, its kind, its last run,
        // that run's final status and price (Credits/CreditsAudit.cs checks the ledger against
        // it). webhook_events_request: the prune deletes a request's events by request id.
        d => $$"""
        CREATE TABLE usage_days (
            day {{d.BigInt}} NOT NULL,
            resource TEXT NOT NULL DEFAULT '',
            handler TEXT NOT NULL,
            user_id TEXT NOT NULL,
            calls {{d.BigInt}} NOT NULL DEFAULT 0,
            integration_credits {{d.BigInt}} NOT NULL DEFAULT 0,
            user_credits {{d.BigInt}} NOT NULL DEFAULT 0,
            errors {{d.BigInt}} NOT NULL DEFAULT 0,
            latency_sum_ms {{d.BigInt}} NOT NULL DEFAULT 0,
            latency_max_ms {{d.BigInt}} NOT NULL DEFAULT 0,
            PRIMARY KEY (day, resource, handler, user_id)){{d.WithoutRowId}};
        CREATE TABLE requests_pruned (
            seq {{d.BigInt}} PRIMARY KEY,
            id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            price {{d.BigInt}} NOT NULL,
            run INTEGER NOT NULL,
            finished_at {{d.BigInt}},
            pruned_at {{d.BigInt}} NOT NULL,
            reason TEXT NOT NULL);
        CREATE INDEX webhook_events_request ON webhook_events (request_id);
        """,

        // 21, issue 21: the panel's Spend page (Credits/SpendQuery.cs) reads the ledger of the
        // last 24 h, 7 d or 30 d by time; without this index it walked the whole ledger.
        // created_at only grows with the ledger's id (rows are appended), so each insert adds its
        // entry at the index's end.
        _ => """
        CREATE INDEX ledger_created ON ledger (created_at);
        """,

        // 22, issue 22: many customers on one platform. plans: named defaults a user is given
        // (its scheduling weight, the priority its requests get and the highest it may ask for,
        // and limits for its keys); a user's own non-null settings override its plan's
        // (Users/ApiKeyCache.cs resolves them). api_keys: a name, scopes (a JSON array of offer
        // and deal globs; null: all), rpm, concurrent requests, a credit budget per period
        // ('day', 'month' or 'total'), an expiry and the key that created it (/svc/me/keys).
        // api_key_spend: credits a key spent in one budget window, written in the charge's unit.
        // requests: the priority resolved at submit, the key that bought it (counted while
        // queued or running for the key's concurrency) and the endpoint profile that served it.
        d => $$"""
        CREATE TABLE plans (
            name TEXT PRIMARY KEY,
            weight INTEGER,
            priority INTEGER,
            max_priority INTEGER,
            key_rpm INTEGER,
            key_max_concurrent INTEGER,
            key_budget {{d.BigInt}},
            key_budget_period TEXT,
            created_at {{d.BigInt}} NOT NULL,
            updated_at {{d.BigInt}} NOT NULL);
        ALTER TABLE users ADD COLUMN plan TEXT;
        ALTER TABLE users ADD COLUMN weight INTEGER;
        ALTER TABLE users ADD COLUMN priority INTEGER;
        ALTER TABLE users ADD COLUMN max_priority INTEGER;
        ALTER TABLE api_keys ADD COLUMN name TEXT;
        ALTER TABLE api_keys ADD COLUMN scopes TEXT;
        ALTER TABLE api_keys ADD COLUMN rpm INTEGER;
        ALTER TABLE api_keys ADD COLUMN max_concurrent INTEGER;
        ALTER TABLE api_keys ADD COLUMN budget {{d.BigInt}};
        ALTER TABLE api_keys ADD COLUMN budget_period TEXT;
        ALTER TABLE api_keys ADD COLUMN expires_at {{d.BigInt}};
        ALTER TABLE api_keys ADD COLUMN parent TEXT;
        CREATE TABLE api_key_spend (
            prefix TEXT NOT NULL,
            window_start {{d.BigInt}} NOT NULL,
            spent {{d.BigInt}} NOT NULL DEFAULT 0,
            PRIMARY KEY (prefix, window_start)){{d.WithoutRowId}};
        ALTER TABLE requests ADD COLUMN priority INTEGER NOT NULL DEFAULT 5;
        ALTER TABLE requests ADD COLUMN api_key TEXT;
        ALTER TABLE requests ADD COLUMN endpoint TEXT;
        CREATE INDEX requests_api_key_live ON requests (api_key) WHERE api_key IS NOT NULL AND status IN ('queued', 'running');
        CREATE INDEX users_plan ON users (plan) WHERE plan IS NOT NULL;
        """,

        // 23, issue 22: a key's rpm on PostgreSQL without Redis. One row per key that has an rpm:
        // its GCRA theoretical arrival time (ms), moved forward by a conditional upsert, so two
        // api processes share one limit (Users/KeyRateLimiter.cs). A table of its own, so the
        // limiter never waits on the key row that a purchase locks.
        d => $$"""
        CREATE TABLE api_key_rate (
            prefix TEXT PRIMARY KEY,
            tat {{d.BigInt}} NOT NULL){{d.WithoutRowId}};
        """,
    ];

    /// <summary>
    /// Steps after which builds that do not know them must not run on the store (a dropped or
    /// renamed column, a changed meaning): <see cref="MigrationRunner"/> records the latest in
    /// <c>meta</c> and older builds refuse to start. None so far: every step is additive, so an
    /// older process keeps running on a store a newer one migrated (a rolling upgrade). Prefer
    /// additive steps; a breaking one means stopping every older process before it runs.
    /// </summary>
    public static readonly IReadOnlySet<int> Breaking = new HashSet<int>();

    /// <summary>The schema version this build brings a store to.</summary>
    public static int Latest => Steps.Length;

    /// <summary>Step <paramref name="version"/> (from 1) as a script for one kind of store.</summary>
    public static string Step(int version, StoreKind kind) => Steps[version - 1](Dialect.Of(kind));
}
