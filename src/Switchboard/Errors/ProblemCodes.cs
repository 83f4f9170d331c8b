namespace Switchboard.Errors;

/// <summary>A stable problem <c>code</c>: the status it comes with and what it means.</summary>
public sealed record ProblemCode(string Code, int Status, string Meaning);

/// <summary>
/// Every stable <c>code</c> a problem answer can carry: the one list that the page at
/// <see cref="PageUrl"/>, the OpenAPI documents (the <c>code</c> property's enum), docs/problems.md
/// and the tests read. A problem's <c>type</c> is this page's anchor of its code.
/// </summary>
public static class ProblemCodes
{
    /// <summary>The page that lists the codes, served by the server itself (see <see cref="ProblemsPage"/>).</summary>
    public const string PageUrl = "/docs/problems";

    /// <summary>A problem's <c>type</c>: a relative reference (RFC 9457 allows one) to its code on the page.</summary>
    public static string TypeOf(string code) => $"{PageUrl}#{Anchor(code)}";

    /// <summary>The code's anchor on the page: itself, or one anchor for every <c>http_</c> code.</summary>
    public static string Anchor(string code) => code.StartsWith(HttpStatusPrefix, StringComparison.Ordinal) ? "http_status" : code;

    /// <summary>
    /// Codes made of a status (<c>http_</c> + status) for answers no endpoint chose: a status
    /// page or a framework answer with no code of its own.
    /// </summary>
    public const string HttpStatusPrefix = "http_";

    public static readonly IReadOnlyList<ProblemCode> All =
    [
        // Any endpoint
        new("missing_api_key", 401, "No `Authorization: Bearer <key>` header was sent."),
        new("invalid_api_key", 401, "The API key is unknown or was revoked (or its user is disabled)."),
        new("admin_required", 403, "The endpoint is for admins and the key is not an admin's."),
        new("store_unavailable", 503, "The store failed; nothing was stored or charged. Try again."),
        new("not_found", 404, "No endpoint has this path."),
        new("method_not_allowed", 405, "The endpoint does not take this HTTP method."),
        new("body_too_large", 413, "The body is larger than the endpoint accepts."),
        new("unsupported_media_type", 415, "The body must be JSON (`Content-Type: application/json`)."),
        new("invalid_json", 400, "The body is not well-formed JSON (or not the JSON object the endpoint takes)."),
        new("invalid_form", 400, "A form body cannot be read."),
        new("invalid_query", 400, "The query string is malformed or holds characters that are not text."),
        new("internal_error", 500, "An unexpected error; reported to the operators."),
        new(HttpStatusPrefix + "<status>", 0, "Any other HTTP status without a code of its own (for example `http_400`)."),

        // Submitting an offer or a deal
        new("unknown_service", 404, "No live offer has this service."),
        new("unknown_action", 404, "The service has no live offer with this action."),
        new("unknown_deal", 404, "There is no live deal of this name."),
        new("handler_not_installed", 503, "The offer's handler is not installed here (service_map config); nothing was charged."),
        new("handler_misconfigured", 503, "The offer's handler lacks its endpoint or credential in the config; nothing was charged."),
        new("offer_needs_endpoint_profile", 503, "The offer keeps a URL or key in its params and must move to an endpoint profile; nothing was charged."),
        new("resource_exhausted", 429, "The resource the action uses takes no new work now; see `retry_after_s` and Retry-After."),
        new("resource_gate_unavailable", 503, "The resource gate cannot be reached."),
        new("body_not_object", 400, "The body must be a JSON object."),
        new("invalid_inputs", 400, "Inputs are missing, unknown or not strings or numbers; `errors` says which."),
        new("invalid_addons", 400, "An add-on is unknown, repeated or not available; `errors` says which."),
        new("invalid_idempotency_key", 400, "The Idempotency-Key header is longer than 255 characters."),
        new("invalid_priority", 400, "The Priority header is not a whole number from 0 (lowest) to 9 (highest)."),
        new("priority_not_allowed", 403, "The Priority header asks for more than the user may (`max_priority` says the most); nothing was charged."),
        new("key_scope", 403, "The API key's scopes do not include this offer (`service/action`) or deal (`deal:name`); `scopes` lists them."),
        new("key_rate_limited", 429, "The API key made its `rpm` purchases this minute; see `retry_after_s` and Retry-After. Nothing was charged."),
        new("key_concurrency", 429, "The API key has `max_concurrent` requests queued or running; try again when one ends (Retry-After). Nothing was charged."),
        new("key_budget_exhausted", 402, "The price would take the API key past its `budget` for its `budget_period` (`spent`, `resets_at`). Nothing was charged."),
        new("insufficient_credits", 402, "The balance does not cover the price; `balance` and `price` say by how much. (409 on an admin's credit move.)"),

        // Reading and cancelling a request
        new("invalid_request_id", 400, "A request id is 32 lowercase hexadecimal characters."),
        new("request_not_found", 404, "No request of yours has this id."),
        new("result_not_found", 404, "No binary result of yours has this SHA-256 on this request (malformed, never listed, or expired with its results)."),
        new("request_finished", 409, "The request has finished; only queued or running requests can be cancelled."),
        new("websocket_required", 400, "The live status endpoint needs a WebSocket upgrade."),
        new("too_many_live_channels", 429, "Too many live channels (status sockets and event streams) are open for this user or on this server."),
        new("invalid_stream_token", 401, "The event stream's `token` is not one this deployment signed, or its user is disabled."),
        new("stream_token_expired", 401, "The event stream's `token` has expired; read the request with your API key, or submit again for a new `stream_url`."),
        new("stream_token_wrong_request", 403, "The event stream's `token` was issued for another request."),
        new("invalid_since", 400, "`since` is a number of minutes, hours or days (90m, 24h, 30d; at most 90d); on `GET /svc/requests/` also a time (ISO 8601 or Unix ms)."),

        // Listing your requests
        new("unknown_parameter", 400, "The query has a parameter the endpoint does not take."),
        new("invalid_status", 400, "`status` is one of the request statuses, or a comma list of them."),
        new("invalid_cursor", 400, "`cursor` is not a `next_cursor` this endpoint gave you for the same filters."),

        // Completion webhooks
        new("invalid_webhook_url", 400, "A webhook URL must be an absolute https URL (http only where the operator allows it), without credentials, at most the configured length."),
        new("webhook_url_refused", 400, "The webhook URL names an address webhooks may not reach (loopback, private, link-local or metadata)."),
        new("unknown_webhook_event", 400, "`events` names an event that does not exist (see the webhooks section of the README)."),
        new("invalid_webhook", 400, "The body must be a JSON object with `url` (text) and `events` (a non-empty list of event names); PATCH also takes `enabled`."),
        new("too_many_webhooks", 409, "The user has as many webhook endpoints as the operator allows."),
        new("webhook_not_found", 404, "No webhook endpoint of yours has this id."),
        new("webhook_event_not_found", 404, "No event or delivery of this endpoint has this id."),

        // The admin API
        new("invalid_body", 400, "The admin body is not the JSON object the endpoint takes."),
        new("unknown_field", 400, "The admin body has a field the endpoint does not know."),
        new("invalid_filter", 400, "A search filter is malformed, or two filters exclude each other."),
        new("invalid_name", 400, "The name does not follow the naming rules."),
        new("invalid_user", 400, "The user is not valid."),
        new("invalid_password", 400, "The password does not meet the rules."),
        new("user_exists", 409, "A user of this name exists already."),
        new("user_not_found", 404, "No user has this name."),
        new("last_admin", 409, "The last enabled admin cannot be disabled or lose admin rights."),
        new("key_not_found", 404, "No API key has this prefix (on `/svc/me/keys`: none that is the calling key or made under it)."),
        new("invalid_key", 400, "A new key's name or limits are not valid; `errors` says which."),
        new("key_broader_than_caller", 403, "`/svc/me/keys`: the new key's scopes or limits go beyond the calling key's; `errors` says which."),
        new("too_many_keys", 409, "`/svc/me/keys`: the user holds as many keys made this way as allowed; revoke one first."),
        new("invalid_plan", 400, "A plan's or a user's scheduling settings are not valid; `errors` says which."),
        new("plan_exists", 409, "A plan of this name exists already."),
        new("plan_not_found", 404, "No plan has this name."),
        new("plan_in_use", 409, "Users are on this plan (`users` says how many): move them to another plan first."),
        new("invalid_kind", 400, "A credit move's kind is `grant` or `adjust`."),
        new("invalid_amount", 400, "A credit move's amount is a whole number of credits."),
        new("invalid_note", 400, "A credit move's note must be a string."),
        new("note_required", 400, "An adjustment needs a note."),
        new("invalid_limit", 400, "`limit` is a whole number in the allowed range."),
        new("invalid_handler", 400, "The handler is not valid; `errors` says why."),
        new("invalid_offer", 400, "The offer is not valid; `errors` says why."),
        new("invalid_deal", 400, "The deal is not valid; `errors` says why."),
        new("unknown_handler", 404, "No handler has this id."),
        new("unknown_offer", 404, "No offer has this service and action."),
        new("handler_in_use", 409, "Offers name the handler; take it out of them first."),
        new("offer_in_use", 409, "Deals name the offer; take it out of them first."),
        new("offer_not_live", 409, "The request's offer is not live any more."),
        new("deal_not_live", 409, "The request's deal is not live any more."),
        new("inputs_changed", 409, "The offer's inputs changed since the request was made."),
        new("request_not_failed", 409, "Only a failed request can be retried."),
        new("endpoint_profiles_operator_only", 403, "Endpoint profiles are changed by an operator with the CLI, not over the API."),
        new("config_not_found", 404, "No config has this id."),
        new("version_not_found", 404, "The config has no such version."),
        new("invalid_diff", 400, "The diff's versions are not valid."),

        // The metrics endpoint
        new("metrics_token_required", 401, "The metrics endpoint needs its bearer token."),

        // Retention (issue 20): POST /admin/api/users/{name}/forget
        new("requests_not_finished", 409, "The user has requests not finished yet (queued or running): forgetting waits for them; `unfinished` says how many."),
    ];
}
