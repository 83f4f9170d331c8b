using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Switchboard.Handlers;

/// <summary>Where a handler sends a call and the credential it sends: one operator-defined endpoint profile.</summary>
public sealed record EndpointProfile(string Name, Uri BaseUrl, string? ApiKey);

/// <summary>
/// Endpoint profiles (SPEC.md §6, <c>svc_handlers</c>): credentials and the hosts they go to are
/// operator configuration, never offer params. A module's (or method's) settings hold
/// <code>
/// openai:
///   base_url: https://api.openai.com/v1      # the profile named "default"
///   api_key_env: OPENAI_API_KEY
///   endpoints:
///     local: {base_url: http://10.0.0.5:8000/v1, ~api_key: sk-…}
/// </code>
/// and an offer picks one with <c>params.endpoint: NAME</c> (absent: <c>default</c>). Every
/// handler that calls out resolves its profile here, so none reads a URL or an environment
/// variable name from params.
/// </summary>
public static partial class EndpointProfiles
{
    public const string Default = "default";

    /// <summary>The offer param that names a profile.</summary>
    public const string Param = "endpoint";

    /// <summary>Error code of an offer that still carries a URL or key variable in its params.</summary>
    public const string LegacyParamsCode = "offer_needs_endpoint_profile";

    /// <summary>Params that used to pick a host or a key; refused now (they let an admin send any variable to any host).</summary>
    public static readonly string[] RemovedParams = ["base_url", "api_key_env", "api_key"];

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9_-]{0,63}\z")]
    private static partial Regex Name();

    /// <summary>The removed params <paramref name="parameters"/> has, if any.</summary>
    public static IReadOnlyList<string> LegacyParams(JsonObject parameters) => [.. RemovedParams.Where(parameters.ContainsKey)];

    /// <summary>What to do instead, for an offer of <paramref name="handler"/> that has <paramref name="legacy"/> in its params.</summary>
    public static string Fix(string handler, IReadOnlyList<string> legacy)
    {
        var module = handler.Split('.')[0];
        return $"{string.Join(" and ", legacy)} can no longer be set on an offer: move the URL and credential to "
            + $"svc_handlers.{module}.endpoints.<name> (base_url, ~api_key or api_key_env; pushed with `switchboard config push`) and set params.{Param}: <name>";
    }

    /// <summary>
    /// The profile an offer's params pick from a handler's settings. A failure is permanent and
    /// its message names neither an environment variable nor a secret's config path.
    /// </summary>
    public static EndpointProfile Resolve(JsonObject settings, JsonObject parameters)
    {
        if (LegacyParams(parameters) is { Count: > 0 })
        {
            throw HandlerException.Permanent(LegacyParamsCode, "this offer sets a URL or credential in its params, which is no longer allowed; an admin must move it to an endpoint profile");
        }
        var name = NameIn(parameters);
        if (!Name().IsMatch(name))
        {
            throw HandlerException.Permanent("invalid_params", $"params.{Param} must be a profile name (a-z, 0-9, '-', '_')");
        }
        var profile = Find(settings, name)
            ?? throw HandlerException.Permanent("endpoint_not_configured", $"the endpoint profile '{name}' is not configured");
        if (!TryBaseUrl(profile["base_url"], out var baseUrl))
        {
            throw HandlerException.Permanent("endpoint_not_configured", $"the endpoint profile '{name}' has no valid base_url");
        }
        var apiKey = profile.GetString("api_key");
        if (apiKey is null && profile.GetString("api_key_env") is { Length: > 0 } variable)
        {
            apiKey = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(apiKey))
            {
                throw HandlerException.Permanent("handler_misconfigured", $"the credential of endpoint profile '{name}' is not configured");
            }
        }
        return new EndpointProfile(name, baseUrl, apiKey);
    }

    /// <summary>The profile an offer's params name (absent: <see cref="Default"/>).</summary>
    public static string NameIn(JsonObject parameters) => parameters.GetString(Param) ?? Default;

    /// <summary>Whether <paramref name="name"/> is a well-formed profile name (a malformed one is the offer's error, not the config's).</summary>
    public static bool IsName(string name) => Name().IsMatch(name);

    /// <summary>
    /// The settings of profile <paramref name="name"/> (after <see cref="Resolve"/> found it valid),
    /// for a handler that reads more of a profile than its URL and key: <c>http.json</c>'s
    /// <c>path</c>, <c>method</c>, <c>auth</c> and <c>headers</c> (<see cref="HttpJson.HttpJsonEndpoint"/>).
    /// </summary>
    public static JsonObject? SettingsOf(JsonObject settings, string name) => Find(settings, name);

    /// <summary>
    /// Checks the fields of a profile that say how a call is made (<c>path</c>, <c>method</c>,
    /// <c>auth</c>, <c>headers</c>; read by <c>http.json</c>) when <c>svc_handlers</c> is pushed;
    /// messages name paths, never values.
    /// </summary>
    public static void CheckCall(JsonObject profile, string path, List<string> errors) =>
        HttpJson.HttpJsonEndpoint.Check(profile, (key, problem) =>
        {
            // An !ENV reference is checked when it is loaded, with its value (as base_url is).
            if (!(key.Split('.') is [var first, ..] && profile[first] is JsonValue v && v.TryGetValue<string>(out var s) && s.StartsWith("!ENV ", StringComparison.Ordinal)))
            {
                errors.Add($"{path}.{key} {problem}");
            }
        });

    /// <summary>Profile <paramref name="name"/> in a handler's merged settings; <see cref="Default"/> is the settings' own keys.</summary>
    private static JsonObject? Find(JsonObject settings, string name) =>
        (settings["endpoints"] as JsonObject)?[name] as JsonObject ?? (name == Default ? settings : null);

    /// <summary>
    /// What is missing from the config for handler <paramref name="handler"/> to call profile
    /// <paramref name="name"/>, as the config path an operator must set; null when the profile has
    /// a valid base_url. Names paths only, never values.
    /// </summary>
    public static string? Missing(JsonObject settings, string handler, string name)
    {
        var at = name == Default ? $"svc_handlers.{handler.Split('.')[0]}" : $"svc_handlers.{handler.Split('.')[0]}.endpoints.{name}";
        if (Find(settings, name) is not { } profile || profile["base_url"] is null)
        {
            return $"endpoint profile '{name}' is not configured: set {at}.base_url (and ~api_key or api_key_env)";
        }
        return TryBaseUrl(profile["base_url"], out _) ? null : $"endpoint profile '{name}' has no valid base_url: set {at}.base_url";
    }

    /// <summary>The environment variable profile <paramref name="name"/> reads its key from (its <c>api_key_env</c>, when it has no <c>~api_key</c>); else null.</summary>
    public static string? KeyVariable(JsonObject settings, string name) =>
        Find(settings, name) is { } profile && profile.GetString("api_key") is null && profile.GetString("api_key_env") is { Length: > 0 } variable
            ? variable
            : null;

    /// <summary>Every profile in a handler's merged settings: <see cref="Default"/> when it has keys of its own, and each of <c>endpoints</c>.</summary>
    public static IEnumerable<string> Names(JsonObject settings) =>
        (settings.ContainsKey("base_url") || settings.ContainsKey("api_key_env") ? [Default] : Array.Empty<string>())
            .Concat((settings["endpoints"] as JsonObject)?.Select(e => e.Key) ?? []);

    /// <summary>An absolute http(s) URL without user info, query or fragment (which would change where a key goes).</summary>
    public static bool TryBaseUrl(JsonNode? node, out Uri url)
    {
        url = null!;
        return node is JsonValue v && v.TryGetValue<string>(out var text)
            && Uri.TryCreate(text, UriKind.Absolute, out var parsed)
            && parsed.Scheme is "http" or "https"
            && parsed.UserInfo.Length == 0 && parsed.Query.Length == 0 && parsed.Fragment.Length == 0
            && (url = parsed) is not null;
    }

    /// <summary>
    /// What decides where credentials go in a <c>svc_handlers</c> document: every <c>base_url</c>,
    /// <c>api_key</c>, <c>api_key_env</c>, <c>endpoints</c>, <c>path</c>, <c>method</c>, <c>auth</c>
    /// and <c>headers</c> entry by path (secrets open, so compare only).
    /// </summary>
    public static SortedDictionary<string, string> Routing(JsonObject values)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(JsonObject node, string path)
        {
            foreach (var (key, value) in node)
            {
                var at = path.Length == 0 ? key : $"{path}.{key}";
                // path, method, auth and headers too: they say which API of the host gets the
                // key and in which header (headers may hold secrets of their own).
                if (key is "base_url" or "api_key" or "api_key_env" or "endpoints" or "path" or "method" or "auth" or "headers")
                {
                    found[at] = value?.ToJsonString() ?? "null";
                }
                else if (value is JsonObject child)
                {
                    Walk(child, at);
                }
            }
        }
        Walk(values, "");
        return found;
    }
}
