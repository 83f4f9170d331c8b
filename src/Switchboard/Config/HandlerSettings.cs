using System.Collections.Concurrent;

namespace Switchboard.Config;

/// <summary>
/// The <c>svc_handlers</c> config: settings and secrets of handler modules and methods.
/// <code>
/// openai:                  # every openai.* handler
///   base_url: https://api.openai.com/v1
///   ~api_key: sk-…
///   chat:                  # openai.chat only; overrides the module's keys
///     base_url: http://127.0.0.1:9000/v1
/// </code>
/// A handler <c>module.method</c> gets the module's keys overlaid with the method's mapping
/// (and with a top-level <c>module.method</c> mapping, if the document uses dotted ids).
/// A module's or method's <c>endpoints</c> mapping holds named endpoint profiles
/// (<c>{base_url, ~api_key | api_key_env}</c>); its own <c>base_url</c> and key are the profile
/// named <c>default</c>. Offers pick a profile by name (<see cref="Handlers.EndpointProfiles"/>).
/// </summary>
public sealed class HandlerSettings(JsonObject values)
{
    public const string Id = "svc_handlers";

    public static readonly HandlerSettings None = new([]);

    private readonly ConcurrentDictionary<string, JsonObject> _byHandler = new(StringComparer.Ordinal);

    /// <summary>The merged settings of one handler (a fresh copy each snapshot; treat as read-only).</summary>
    public JsonObject For(string handlerId) => _byHandler.GetOrAdd(handlerId, id =>
    {
        var dot = id.IndexOf('.', StringComparison.Ordinal);
        var module = dot > 0 ? id[..dot] : id;
        var method = dot > 0 ? id[(dot + 1)..] : "";
        var merged = new JsonObject();
        void Overlay(JsonObject? source, string? skip)
        {
            foreach (var (key, value) in source ?? [])
            {
                if (key != skip)
                {
                    merged[key] = value?.DeepClone();
                }
            }
        }
        var moduleSettings = values[module] as JsonObject;
        Overlay(moduleSettings, method);
        Overlay(moduleSettings?[method] as JsonObject, null);
        Overlay(dot > 0 ? values[id] as JsonObject : null, null);
        return merged;
    });

    public static HandlerSettings Read(JsonObject values, List<string> errors)
    {
        foreach (var (key, value) in values)
        {
            if (value is not JsonObject module)
            {
                errors.Add($"{Id}.{key} must be a mapping of settings for handler module '{key}'");
                continue;
            }
            CheckEndpoints(module, $"{Id}.{key}", errors);
            foreach (var (method, settings) in module)
            {
                if (settings is JsonObject methodSettings && method != "endpoints")
                {
                    CheckEndpoints(methodSettings, $"{Id}.{key}.{method}", errors);
                }
            }
        }
        return new HandlerSettings(values);
    }

    /// <summary>Checks the shape of <c>endpoints</c> and each profile's <c>base_url</c> and call fields (path, method, auth, headers); messages name paths, never values.</summary>
    private static void CheckEndpoints(JsonObject settings, string path, List<string> errors)
    {
        CheckBaseUrl(settings, path, errors);
        Handlers.EndpointProfiles.CheckCall(settings, path, errors);
        if (settings["endpoints"] is not { } endpoints)
        {
            return;
        }
        if (endpoints is not JsonObject profiles)
        {
            errors.Add($"{path}.endpoints must be a mapping of endpoint profiles by name");
            return;
        }
        foreach (var (name, profile) in profiles)
        {
            if (profile is not JsonObject p)
            {
                errors.Add($"{path}.endpoints.{name} must be a mapping with base_url and ~api_key or api_key_env");
            }
            else if (p["base_url"] is null)
            {
                errors.Add($"{path}.endpoints.{name}.base_url is required");
            }
            else
            {
                CheckBaseUrl(p, $"{path}.endpoints.{name}", errors);
                Handlers.EndpointProfiles.CheckCall(p, $"{path}.endpoints.{name}", errors);
                // The resource whose limits and credits count this profile's calls (default: its handler's).
                if (p["resource"] is { } resource && !(resource is JsonValue rv && rv.TryGetValue<string>(out var r) && r.Length is > 0 and <= 64))
                {
                    errors.Add($"{path}.endpoints.{name}.resource must be a resource name (resource_map)");
                }
            }
        }
    }

    private static void CheckBaseUrl(JsonObject settings, string path, List<string> errors)
    {
        // An !ENV reference is checked when it is loaded, with its value.
        var url = settings["base_url"];
        if (url is not null && !(url is JsonValue v && v.TryGetValue<string>(out var s) && s.StartsWith("!ENV ", StringComparison.Ordinal))
            && !Handlers.EndpointProfiles.TryBaseUrl(url, out _))
        {
            errors.Add($"{path}.base_url must be an absolute http(s) URL without user info, query or fragment");
        }
    }
}
