using System.Text.RegularExpressions;

namespace Switchboard.Handlers.HttpJson;

/// <summary>
/// Where and how <c>http.json</c> calls: an endpoint profile (<see cref="EndpointProfiles"/>)
/// read with the fields that say how the call is made, all operator config in <c>svc_handlers</c>:
/// <code>
/// http:
///   endpoints:
///     sentiment:
///       base_url: https://api-inference.huggingface.co
///       path: /models/distilbert-base-uncased-finetuned-sst-2-english   # default: base_url itself
///       method: POST                  # POST (default), PUT or PATCH: the inputs go in the body
///       api_key_env: HF_TOKEN         # or ~api_key
///       auth: bearer                  # default: Authorization: Bearer KEY; or a header name (x-api-key): KEY as is
///       headers: {X-Wait-For-Model: "true"}   # fixed headers; ~name for a secret value
/// </code>
/// Nothing from an offer or a request reaches the URL: it is <c>base_url</c> + <c>path</c>.
/// </summary>
public sealed partial record HttpJsonEndpoint(EndpointProfile Profile, Uri Url, HttpMethod Method, string AuthHeader, bool Bearer, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public const string BearerAuth = "bearer";

    /// <summary>Methods with a body. GET and DELETE have none, and the inputs never go in the URL.</summary>
    private static readonly string[] Methods = ["POST", "PUT", "PATCH"];

    /// <summary>Headers the HTTP client sets itself, or that would change how the body is read: an operator cannot set them.</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "content-type", "content-length", "transfer-encoding", "connection", "expect", "upgrade", "te", "trailer", "keep-alive", "proxy-authorization",
    };

    // RFC 9110 token: a header name.
    [GeneratedRegex(@"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}\z")]
    private static partial Regex HeaderName();

    // A path (and optional query) of printable ASCII without spaces or a fragment; not "//…", which reads as a host.
    [GeneratedRegex(@"\A/(?!/)[!$&'()*+,;=:@%/?A-Za-z0-9._~-]*\z")]
    private static partial Regex PathText();

    /// <summary>The profile an offer's params pick, with its call fields. Failures are permanent and name the profile, never a value.</summary>
    public static HttpJsonEndpoint Resolve(JsonObject settings, JsonObject parameters)
    {
        var profile = EndpointProfiles.Resolve(settings, parameters);
        var fields = EndpointProfiles.SettingsOf(settings, profile.Name) ?? [];
        var problems = new List<string>();
        Check(fields, (key, problem) => problems.Add($"{key} {problem}"));
        if (problems.Count > 0)
        {
            throw HandlerException.Permanent("endpoint_not_configured", $"the endpoint profile '{profile.Name}' is not valid: {problems[0]}");
        }
        var path = Text(fields, "path") ?? "";
        var url = new Uri(profile.BaseUrl.AbsoluteUri.TrimEnd('/') + path);
        var auth = Text(fields, "auth") ?? BearerAuth;
        var bearer = string.Equals(auth, BearerAuth, StringComparison.OrdinalIgnoreCase);
        var headers = (fields["headers"] as JsonObject ?? []).Select(h => KeyValuePair.Create(h.Key, h.Value!.GetValue<string>())).ToList();
        return new HttpJsonEndpoint(profile, url, new HttpMethod((Text(fields, "method") ?? "POST").ToUpperInvariant()), bearer ? "Authorization" : auth, bearer, headers);
    }

    /// <summary>
    /// What is wrong with a profile's call fields, each as <c>(key, problem)</c>; nothing when all
    /// are absent (the defaults) or valid. Problems name the key and the rule, never the value.
    /// </summary>
    public static void Check(JsonObject profile, Action<string, string> problem)
    {
        if (profile["path"] is { } path && !(Text(path) is { } p && PathText().IsMatch(p) && !p.Split('?')[0].Split('/').Any(s => s is "." or "..")))
        {
            problem("path", "must start with '/' and be a URL path (and query) of printable characters without spaces, '#', '..' or a leading '//'");
        }
        if (profile["method"] is { } method && !(Text(method) is { } m && Methods.Contains(m.ToUpperInvariant())))
        {
            problem("method", "must be POST, PUT or PATCH (a call without a body could only carry inputs in its URL, which http.json never does)");
        }
        var auth = "Authorization";
        if (profile["auth"] is { } authNode)
        {
            if (Text(authNode) is { } a && (string.Equals(a, BearerAuth, StringComparison.OrdinalIgnoreCase) || (HeaderName().IsMatch(a) && !Reserved.Contains(a))))
            {
                auth = string.Equals(a, BearerAuth, StringComparison.OrdinalIgnoreCase) ? auth : a;
            }
            else
            {
                problem("auth", "must be 'bearer' or the name of the header that carries the key as is (such as x-api-key)");
            }
        }
        if (profile["headers"] is not { } headers)
        {
            return;
        }
        if (headers is not JsonObject fixedHeaders)
        {
            problem("headers", "must be a mapping of header names to text values");
            return;
        }
        foreach (var (name, value) in fixedHeaders)
        {
            // Content-* headers describe the body, which http.json writes (and HttpClient would drop them from the request's headers).
            if (!HeaderName().IsMatch(name) || Reserved.Contains(name) || name.StartsWith("content-", StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, auth, StringComparison.OrdinalIgnoreCase))
            {
                problem($"headers.{name}", "must be a header name other than Host, the Content-* ones, the hop-by-hop ones and the auth header");
            }
            else if (!(Text(value) is { } v && v.All(c => c >= ' ' && c != '\u007f')))
            {
                problem($"headers.{name}", "must be text without control characters");
            }
        }
    }

    /// <summary>
    /// The values to mask wherever an answer or an error could repeat them: the key, and fixed
    /// header values long enough to be secrets (masking "wait" or "true" would garble the text
    /// and hide nothing).
    /// </summary>
    public IEnumerable<string> Secrets() =>
        (Profile.ApiKey is { Length: > 0 } key ? [key] : Array.Empty<string>()).Concat(Headers.Select(h => h.Value).Where(v => v.Length >= 8));

    private static string? Text(JsonObject settings, string key) => Text(settings[key]);

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
