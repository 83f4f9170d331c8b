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
        JsonValue v when v.TryGetValue<double>(out var d) && d == Math.Floor(d) => (long)d,
        _ => throw HandlerException.Permanent("invalid_params", $"params.{name} must be a whole number"),
    };

    public static double? GetDouble(this JsonObject parameters, string name) => parameters[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        _ => throw HandlerException.Permanent("invalid_params", $"params.{name} must be a number"),
    };

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
