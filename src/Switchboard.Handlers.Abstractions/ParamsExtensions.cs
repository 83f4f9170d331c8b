using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Handlers;

/// <summary>Typed reads of an offer's params; a value of the wrong type is a permanent, named failure.</summary>
public static class ParamsExtensions
{
    public static long? GetLong(this JsonObject parameters, string name) => parameters[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var n) => n,
        JsonValue v when Number(v) is { } d && d == Math.Floor(d) && Math.Abs(d) < 9e18 => (long)d,
        _ => throw HandlerException.Permanent("invalid_params", $"params.{name} must be a whole number"),
    };

    public static double? GetDouble(this JsonObject parameters, string name) => parameters[name] switch
    {
        null => null,
        JsonValue v when Number(v) is { } d => d,
        _ => throw HandlerException.Permanent("invalid_params", $"params.{name} must be a number"),
    };

    /// <summary>
    /// A number however the value holds it: parsed JSON holds a <see cref="JsonElement"/>, but a
    /// <see cref="JsonObject"/> built in code (a plugin's unit test) holds the CLR value it was given.
    /// </summary>
    private static double? Number(JsonValue value) =>
        value.GetValueKind() != JsonValueKind.Number ? null
        : value.TryGetValue<double>(out var d) ? d
        : value.TryGetValue<int>(out var i) ? i
        : value.TryGetValue<long>(out var l) ? l
        : value.TryGetValue<decimal>(out var m) ? (double)m
        : value.TryGetValue<float>(out var f) ? f
        : null;

    public static string? GetString(this JsonObject parameters, string name) => parameters[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw HandlerException.Permanent("invalid_params", $"params.{name} must be a string"),
    };

    /// <summary>True for <c>true</c> or a non-empty string (the string being a message).</summary>
    public static bool IsSet(this JsonObject parameters, string name) => parameters[name] switch
    {
        null => false,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<string>(out var s) => s.Length > 0,
        JsonValue v => v.GetValueKind() == JsonValueKind.Number,
        _ => true,
    };
}
