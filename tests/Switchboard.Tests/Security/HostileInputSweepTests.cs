using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Switchboard.Tests.Security;

/// <summary>
/// Every endpoint the running app maps (read from its <see cref="EndpointDataSource"/>, so
/// endpoints added later are swept too) called with hostile path values, query strings, bodies
/// and headers, as an anonymous client, a user and an admin, over real HTTP: no answer is a 5xx, every 400, 413
/// and 415 of the JSON APIs is a problem with a code, and no batch changes the store.
/// </summary>
public abstract partial class HostileInputSweepTests(StoreKind kind, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestStore _dir = TestStore.Create(kind);
    private SwitchboardFactory _app = null!;
    private readonly Dictionary<string, HttpClient> _clients = [];
    private string _requestId = "";
    private string _panelToken = "";

    /// <summary>The identity that calls the panel's pages with a session (and only those).</summary>
    private const string Panel = "panel";

    public async Task InitializeAsync()
    {
        await Infrastructure.Cli.ApplyCatalog(_dir, HostileApp.Catalog);
        var (_, userKey) = await Infrastructure.Cli.CreateUser(_dir, "alice", 1000);
        var root = await Infrastructure.Cli.Json(_dir, "users", "create", "root", "--admin");
        // Real Kestrel on an ephemeral port: the in-memory TestServer refuses some hostile paths
        // (%00) in the client before the app sees them, where Kestrel answers them as a server does.
        var address = new Uri($"http://127.0.0.1:{SwitchboardProcess.FreePort()}");
        _app = new SwitchboardFactory(_dir, new() { ["urls"] = address.ToString() });
        _app.UseKestrel();
        _app.StartServer();
        _clients["anonymous"] = Client(address, null);
        _clients["user"] = Client(address, userKey);
        _clients["admin"] = Client(address, root["api_key"]!.GetValue<string>());
        // The panel: an admin signed in with a session cookie, and the antiforgery token its forms carry.
        await PanelSession.CreateAdmin(_dir, "panelroot");
        _clients[Panel] = PanelSession.HttpClient(address, new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PanelSession.LogIn(_clients[Panel], "panelroot", PanelSession.Password)).StatusCode);
        _panelToken = await PanelSession.FormToken(_clients[Panel], "/admin/users");
        var accepted = await _clients["user"].PostAsync("/svc/t/a/", Json("""{"topic": "setup"}"""));
        _requestId = await SwitchboardFactory.IdOf(accepted);
        await SwitchboardFactory.WaitForEnd(_clients["user"], _requestId);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
        await _app.DisposeAsync();
        await _dir.DisposeAsync();
    }

    private static HttpClient Client(Uri address, string? key)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }
        return client;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>One hostile call: what it is (for the failure message), and how to make it.</summary>
    private sealed record Case(string Identity, string Method, string Url, string Label, Func<HttpContent?> Body, (string Name, string Value)? Header = null);

    [Fact]
    public async Task NoHostileInputOnAnyEndpointGetsA5xxOrChangesTheStore()
    {
        var endpoints = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Pattern: e.RoutePattern.RawText!)))
            .Distinct()
            .OrderBy(e => e.Pattern, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal)
            .ToList();
        Assert.Contains(endpoints, e => e.Pattern.StartsWith("/admin/api/", StringComparison.Ordinal));
        Assert.Contains(endpoints, e => e.Pattern.StartsWith("/svc/", StringComparison.Ordinal));

        var failures = new List<string>();
        var cases = 0;
        var started = DateTime.UtcNow;
        foreach (var (method, pattern) in endpoints)
        {
            var batch = Cases(method, pattern).ToList();
            var before = Snapshot();
            var answered = new List<string>();
            foreach (var c in batch)
            {
                using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Url) { Content = c.Body() };
                if (c.Header is { } header)
                {
                    request.Headers.Remove(header.Name);
                    request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                }
                HttpResponseMessage response;
                try
                {
                    response = await _clients[c.Identity].SendAsync(request);
                }
                catch (HttpRequestException ex)
                {
                    failures.Add($"{c.Identity} {c.Method} {Shorten(c.Url)} [{c.Label}] -> no answer: {ex.Message}");
                    continue;
                }
                using var _ = response;
                var status = (int)response.StatusCode;
                var text = await response.Content.ReadAsStringAsync();
                // Kestrel refuses a NUL in the path itself (400, no body), before any app code runs.
                var what = $"{c.Identity} {c.Method} {Shorten(c.Url)} [{c.Label}] -> {status}";
                if (status >= 500)
                {
                    failures.Add($"{what}: {Shorten(text)}");
                }
                else if (status is 400 or 413 or 415 && IsJsonApi(pattern) && !IsProblem(response, text) && !c.Url.Contains("%00", StringComparison.Ordinal))
                {
                    failures.Add($"{what} is not a problem with a code: {Shorten(text)}");
                }
                if (status is >= 200 and < 300)
                {
                    answered.Add(what);
                }
            }
            cases += batch.Count;
            var after = Snapshot();
            if (!before.SequenceEqual(after))
            {
                failures.Add($"{method} {pattern} changed the store: {Diff(before, after)}; its 2xx answers: {string.Join(" | ", answered.Where(a => !a.StartsWith("anonymous", StringComparison.Ordinal) && !a.Contains(" GET ", StringComparison.Ordinal)))}");
            }
        }
        output.WriteLine($"{kind}: {cases} hostile cases on {endpoints.Count} endpoints in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        Assert.True(cases >= 300, $"only {cases} cases");
        // One line per kind of failure: the same case as another identity adds nothing.
        var distinct = failures.DistinctBy(f => f[(f.IndexOf(' ', StringComparison.Ordinal) + 1)..]).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} failures of {cases} cases, {distinct.Count} distinct:\n{string.Join("\n", distinct.Take(80))}");
    }

    private static bool IsJsonApi(string pattern) => pattern.StartsWith("/admin/api/", StringComparison.Ordinal) || pattern.StartsWith("/svc/", StringComparison.Ordinal);

    private static bool IsProblem(HttpResponseMessage response, string text)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return false;
        }
        try
        {
            return JsonNode.Parse(text)?["code"] is JsonValue code && code.GetValue<string>().Length > 0;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static string Shorten(string text) => text.Length > 160 ? text[..160] + "…" : text;

    // ---- The cases ----

    /// <summary>Path values no route parameter accepts; percent-encoded as a client would send them.</summary>
    /// <remarks>
    /// Not 9223372036854775807 or 1e400: those are valid slugs (an offer may be named so).
    /// </remarks>
    private static readonly string[] HostilePathValues =
    [
        "%00", "x%0A", "t%0A", "a%0A", "alice%0A", "solo%0A", "%0A", "..%2F..%2Fx", "a%2Fb", "%E2%80%AE", "%ED%A0%80", "%FF", "%20", "t%20",
        new string('a', 3000), "-9223372036854775808", "NaN", "Infinity", "-0", "1.5", "%7B%7D", "A", "%C2%A0",
    ];

    private static readonly string[] QueryNames =
        ["since", "limit", "status", "offer", "from", "to", "before", "user", "deal", "resource", "handler", "per_minute", "addons"];

    private static readonly string[] HostileQueryValues =
    [
        "-9223372036854775808", "9223372036854775807", "99999999999999999999", "1e400", "NaN", "Infinity", "-Infinity", "-0", "1.5",
        "%00", "%ED%A0%80", "%FF", "x%0A", "99999999999d", "3660d%0A", "-1d", "0", new string('9', 5000), "%E2%80%AE",
    ];

    /// <summary>JSON values a field of the given kind must refuse (each replaces the field in a valid body).</summary>
    private static IEnumerable<(string Label, string Json)> HostileValues(string kind)
    {
        yield return ("lone surrogate", "\"\\ud800\"");
        yield return ("lone low surrogate", "\"a\\udc00b\"");
        yield return ("NUL", "\"a\\u0000b\"");
        yield return ("escape char", "\"\\u001b[31m\"");
        yield return ("1000-deep", new string('[', 1000) + new string(']', 1000));
        yield return ("huge string", "\"" + new string('x', HugeChars) + "\"");
        yield return ("1e400", "1e400");
        yield return ("1e-400", "1e-400");
        if (kind != "input")
        {
            // Client inputs are text or numbers for a prompt: any finite number is one.
            yield return ("long.MinValue", "-9223372036854775808");
            yield return ("long.MaxValue", "9223372036854775807");
            yield return ("beyond long", "99999999999999999999");
            yield return ("fraction", "1.5");
        }
        yield return ("object", "{}");
        yield return ("array", "[1]");
        if (kind is "int" or "nonzero" or "bool")
        {
            yield return ("NaN string", "\"NaN\"");
            yield return ("Infinity string", "\"Infinity\"");
            yield return ("-Infinity string", "\"-Infinity\"");
            yield return ("digits as a string", "\"5\"");
        }
        if (kind == "nonzero")
        {
            yield return ("-0", "-0");
            yield return ("0.0", "0.0");
        }
        if (kind is "text" or "int" or "nonzero")
        {
            yield return ("boolean", "true");
        }
        if (kind == "bool")
        {
            yield return ("number", "1");
        }
    }

    /// <summary>More than any body limit (64 KiB by default), small enough for Kestrel to drain after an early 413.</summary>
    private const int HugeChars = 200 * 1024;

    /// <summary>Whole bodies no JSON endpoint accepts.</summary>
    private static readonly (string Label, string Body, string? ContentType)[] HostileBodies =
    [
        ("empty", "", "application/json"),
        ("truncated", "{\"a\": ", "application/json"),
        ("array", "[]", "application/json"),
        ("null", "null", "application/json"),
        ("bare NaN", "NaN", "application/json"),
        ("bare Infinity", "{\"x\": Infinity}", "application/json"),
        ("trailing garbage", "{} x", "application/json"),
        ("1000-deep", new string('[', 1000) + new string(']', 1000), "application/json"),
        ("1000-deep object", string.Concat(Enumerable.Repeat("{\"a\":", 1000)) + "1" + new string('}', 1000), "application/json"),
        ("surrogate key", "{\"\\ud800\": 1}", "application/json"),
        ("huge", "{\"x\": \"" + new string('x', HugeChars) + "\"}", "application/json"),
        ("invalid UTF-8", "{\"x\": \"\xff\xfe\"}", "application/json"),
    ];

    /// <summary>
    /// Valid bodies of the endpoints that take one, with each field's kind: the sweep sends each
    /// with one field made hostile, with an unknown field, and with the wrong content types.
    /// </summary>
    private static readonly Dictionary<string, (string Body, (string Field, string Kind)[] Fields)> Bodies = new()
    {
        ["POST /admin/api/users/{name}/credits"] = ("""{"kind": "grant", "amount": 5, "note": "sweep"}""", [("kind", "text"), ("amount", "nonzero"), ("note", "text")]),
        ["POST /admin/api/users"] = ("""{"name": "bob", "admin": false, "password": "correct horse battery", "credits": 5}""",
            [("name", "text"), ("admin", "bool"), ("password", "text"), ("credits", "int")]),
        ["PUT /admin/api/handlers/{id}"] = ("""{"credits": 2}""", [("credits", "int")]),
        ["PUT /admin/api/offers/{service}/{action}"] = ("""{"handler": "echo.render", "price": 11, "prompt_template": "B({topic})", "create_qty": 1}""",
            [("handler", "text"), ("price", "int"), ("prompt_template", "text"), ("create_qty", "nonzero")]),
        ["PUT /admin/api/deals/{name}"] = ("""{"offers": [{"offer": "t/a", "pipeline": "none"}], "price_modifier": 5}""", [("offers", "list"), ("price_modifier", "int")]),
        ["POST /svc/{service}/{action}/"] = ("""{"topic": "sweep"}""", [("topic", "input")]),
        ["POST /svc/deal/{name}/"] = ("""{"inputs": {"topic": "sweep"}}""", [("inputs", "object")]),
        ["POST /svc/me/webhooks/secret"] = ("""{"keep_previous": true}""", [("keep_previous", "bool")]),
    };

    private IEnumerable<Case> Cases(string method, string pattern)
    {
        var parameters = ParameterName().Matches(pattern).Select(m => m.Groups[1].Value).ToList();
        var real = Url(pattern, p => RealValue(pattern, p));
        var hasBody = method is "POST" or "PUT" or "PATCH";
        var declared = Bodies.GetValueOrDefault($"{method} {pattern}");
        Func<HttpContent?> validBody = () => declared.Body is { } b ? Json(b) : hasBody ? Json("{}") : null;
        var isPanel = pattern.StartsWith("/admin", StringComparison.Ordinal) && !pattern.StartsWith("/admin/api/", StringComparison.Ordinal);
        if (isPanel && pattern != "/admin/logout")
        {
            foreach (var c in PanelCases(method, pattern, parameters, real))
            {
                yield return c;
            }
        }
        foreach (var identity in _clients.Keys.Where(k => k != Panel))
        {
            // Hostile path values: one parameter at a time, the others real.
            foreach (var parameter in parameters)
            {
                foreach (var value in HostilePathValues)
                {
                    yield return new(identity, method, Url(pattern, p => p == parameter ? value : RealValue(pattern, p)), $"{parameter}={Shorten(value)}", validBody);
                }
            }
            // Hostile headers, on a hostile path or with a truncated body (so that nothing but the header can be wrong).
            foreach (var header in HostileHeaders(identity))
            {
                yield return new(identity, method, parameters.Count > 0 ? Url(pattern, _ => "x%0A") : real, $"{header.Name} header",
                    () => hasBody ? Json("{\"") : null, header);
            }
            if (!hasBody)
            {
                if (method != "GET" && parameters.Count > 0)
                {
                    continue; // a DELETE or a body-less POST on a real entry would act: its path cases above are the hostile ones
                }
                // Hostile query strings: each value for every name at once, and each name alone.
                foreach (var value in HostileQueryValues)
                {
                    yield return new(identity, method, real + "?" + string.Join("&", QueryNames.Select(n => $"{n}={value}")), $"all={Shorten(value)}", validBody);
                }
                foreach (var (name, i) in QueryNames.Select((n, i) => (n, i)))
                {
                    yield return new(identity, method, $"{real}?{name}={HostileQueryValues[i]}&{name}=1", $"{name} twice", validBody);
                }
                continue;
            }
            // Bodies: on real path values only when the endpoint's body shape is known (so that a
            // body the endpoint ignores cannot act on a real entry), else on a hostile path.
            var target = declared.Body is null && parameters.Count > 0 ? Url(pattern, _ => "x%0A") : real;
            foreach (var (label, body, contentType) in HostileBodies)
            {
                yield return new(identity, method, target, label, () => Raw(body, contentType));
            }
            var valid = declared.Body ?? "{}";
            foreach (var contentType in new string?[] { "text/plain", "application/x-www-form-urlencoded", null, "application/xml", "multipart/form-data; boundary=x", "application/jsonx" })
            {
                yield return new(identity, method, target, $"as {contentType ?? "no content type"}", () => Raw(valid, contentType));
            }
            yield return new(identity, method, target, "unknown field", () => Json(With(valid, "unexpected_field", "1")));
            if (declared.Body is null || identity == "anonymous")
            {
                continue;
            }
            foreach (var (field, fieldKind) in declared.Fields)
            {
                foreach (var (label, json) in HostileValues(fieldKind))
                {
                    yield return new(identity, method, target, $"{field}: {label}", () => Json(With(valid, field, json)));
                }
                yield return new(identity, method, target, $"{field} twice", () => Json(valid.TrimEnd('}') + $", \"{field}\": {JsonNode.Parse(valid)![field]!.ToJsonString()}}}"));
            }
        }
    }

    /// <summary>
    /// Panel forms whose fields the endpoint checks, so that they may be posted on real entries;
    /// every other panel POST acts whatever its fields say (enable, revoke, retry), so it gets
    /// hostile paths only.
    /// </summary>
    private static readonly HashSet<string> CheckedForms =
    [
        "/admin/users", "/admin/users/{name}/credits", "/admin/offers/new", "/admin/offers/{service}/{action}",
        "/admin/handlers", "/admin/handlers/{id}", "/admin/deals/new", "/admin/deals/{name}", "/admin/configs/{id}/rollback", "/admin/login",
        "/admin/plans", "/admin/plans/{name}",
    ];

    private static readonly string[] FormFields =
    [
        "username", "name", "password", "admin", "credits", "kind", "amount", "note", "service", "action", "handler", "price",
        "prompt_template", "create_qty", "expiration", "params", "id", "resource", "offers", "addons", "price_modifier", "addons_modifier", "to", "enabled",
        "weight", "priority", "max_priority", "key_rpm", "key_max_concurrent", "key_budget", "key_budget_period",
    ];

    /// <summary>Form values no field accepts: every field of the form is set to one of them at once.</summary>
    private static readonly string[] HostileFormValues =
    [
        "a\0b", "\u001b[2J", "\u007f", "x\u0085", new string('f', HugeChars), "-9223372036854775808", "9223372036854775807", "1e400", "NaN", "-Infinity",
    ];

    private IEnumerable<Case> PanelCases(string method, string pattern, List<string> parameters, string real)
    {
        FormUrlEncodedContent Form(string? value) => new(
            new[] { new KeyValuePair<string, string>("__RequestVerificationToken", _panelToken) }
                .Concat(value is null ? [] : FormFields.Select(f => new KeyValuePair<string, string>(f, value))));
        Func<HttpContent?> tokenOnly = () => method == "GET" ? null : Form(null);
        foreach (var parameter in parameters)
        {
            foreach (var value in HostilePathValues)
            {
                yield return new(Panel, method, Url(pattern, p => p == parameter ? value : RealValue(pattern, p)), $"{parameter}={Shorten(value)}", tokenOnly);
            }
        }
        if (method == "GET")
        {
            foreach (var value in HostileQueryValues)
            {
                yield return new(Panel, method, real + "?" + string.Join("&", QueryNames.Append("q").Append("page").Select(n => $"{n}={value}")), $"all={Shorten(value)}", tokenOnly);
            }
            yield break;
        }
        var target = CheckedForms.Contains(pattern) ? real : Url(pattern, _ => "x%0A");
        foreach (var value in HostileFormValues)
        {
            yield return new(Panel, method, target, $"every field {Shorten(value)}", () => Form(value));
        }
        yield return new(Panel, method, target, "malformed multipart", () => Raw("--x\r\nContent-Disposition: form-data\r\n", "multipart/form-data; boundary=x"));
    }

    private static IEnumerable<(string Name, string Value)> HostileHeaders(string identity)
    {
        if (identity == "anonymous")
        {
            yield return ("Authorization", "Bearer " + new string('a', 20_000));
            yield return ("Authorization", "Bearer sb_");
            yield return ("Authorization", "Basic cm9vdDpyb290");
            yield return ("Authorization", "Bearer sb_%00_" + new string('x', 40));
        }
        yield return ("Idempotency-Key", new string('k', 10_000));
        yield return ("Cookie", ".AspNetCore.Cookies=" + new string('c', 5000));
        yield return ("Accept", "application/json;q=NaN");
    }

    private static ByteArrayContent Raw(string body, string? contentType)
    {
        var content = new ByteArrayContent(body.Contains('\xff') ? [.. body.Select(c => (byte)c)] : Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        return content;
    }

    /// <summary>The JSON object <paramref name="body"/> with <paramref name="field"/> set to the raw JSON <paramref name="json"/> (which may be no valid JSON).</summary>
    private static string With(string body, string field, string json)
    {
        var rest = JsonNode.Parse(body)!.AsObject().Where(p => p.Key != field).Select(p => $"\"{p.Key}\": {p.Value!.ToJsonString()}");
        return "{" + string.Join(", ", rest.Append($"\"{field}\": {json}")) + "}";
    }

    private static string Url(string pattern, Func<string, string> value) => ParameterName().Replace(pattern, m => value(m.Groups[1].Value));

    /// <summary>A value that names an existing entry, so a case reaches the endpoint's checks.</summary>
    private string RealValue(string pattern, string parameter) => parameter switch
    {
        "name" when pattern.Contains("deal", StringComparison.Ordinal) => "solo",
        "name" => "alice",
        "service" => "t",
        "action" => "a",
        "id" when pattern.Contains("request", StringComparison.Ordinal) => _requestId,
        "id" when pattern.Contains("handler", StringComparison.Ordinal) => "echo.render",
        "id" => "api",
        "version" => "1.0",
        _ => "x",
    };

    [GeneratedRegex(@"\{\*?\*?(\w+)[^}]*\}")]
    private static partial Regex ParameterName();

    // ---- The store, canonical ----

    /// <summary>
    /// Tables whose rows change without any request changing state: failed logins are counted
    /// on purpose (the lockout), usage minutes are flushed in the background, alerts and meta
    /// are recon's and the executors' heartbeats, and the panel's key ring is created on first use.
    /// </summary>
    private static readonly HashSet<string> Volatile = ["login_failures", "usage_minutes", "alerts_firing", "meta", "panel_keys"];

    /// <summary>Every row of every other table, as text, sorted; api_keys' last use is volatile too.</summary>
    private List<string> Snapshot() => _dir.Query(connection =>
    {
        var tables = new List<string>();
        using (var list = connection.Sql(_dir.Kind == StoreKind.Sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))
        using (var names = list.ExecuteReader())
        {
            while (names.Read())
            {
                tables.Add(names.GetString(0));
            }
        }
        var rows = new List<string>();
        foreach (var table in tables.Where(t => !Volatile.Contains(t)).Order(StringComparer.Ordinal))
        {
            using var command = connection.Sql($"SELECT * FROM {table}");
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var values = Enumerable.Range(0, reader.FieldCount)
                    .Where(i => !reader.GetName(i).Contains("last_used", StringComparison.Ordinal))
                    .Select(i => $"{reader.GetName(i)}={(reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))}");
                rows.Add($"{table}: {string.Join(", ", values)}");
            }
        }
        rows.Sort(StringComparer.Ordinal);
        return rows;
    });

    private static string Diff(List<string> before, List<string> after) =>
        string.Join("; ", before.Except(after).Select(r => "- " + Shorten(r)).Concat(after.Except(before).Select(r => "+ " + Shorten(r))).Take(6));
}

public sealed class HostileInputSweepOnSqlite(ITestOutputHelper output) : HostileInputSweepTests(StoreKind.Sqlite, output);

public sealed class HostileInputSweepOnPostgres(ITestOutputHelper output) : HostileInputSweepTests(StoreKind.Postgres, output);
