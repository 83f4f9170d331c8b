using System.Collections.Concurrent;
using System.Text.Json.Nodes;

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
            if (value is not JsonObject)
            {
                errors.Add($"{Id}.{key} must be a mapping of settings for handler module '{key}'");
            }
        }
        return new HandlerSettings(values);
    }
}
