using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Switchboard.Requests;

/// <summary>The inputs of a request body, checked against the offer's template variables.</summary>
public sealed class RequestInputs
{
    private RequestInputs(SortedDictionary<string, (string Text, bool IsNumber)> values) => Values = values;

    /// <summary>Inputs by name (ordinal order, which is also the canonical order for the id).</summary>
    public SortedDictionary<string, (string Text, bool IsNumber)> Values { get; }

    /// <summary>
    /// Reads a JSON object of inputs, which must be exactly <paramref name="variables"/> (an
    /// offer's template variables, or a deal's inputs). Every problem is collected by field
    /// name, so one 400 answer names them all.
    /// </summary>
    public static RequestInputs? Validate(JsonElement body, IReadOnlyList<string> variables, int maxValueChars, Dictionary<string, string> errors)
    {
        var values = new SortedDictionary<string, (string, bool)>(StringComparer.Ordinal);
        foreach (var property in body.EnumerateObject())
        {
            var name = property.Name;
            if (!variables.Contains(name))
            {
                errors[name] = "is not an input of this action";
                continue;
            }
            if (values.ContainsKey(name))
            {
                errors[name] = "is given more than once";
                continue;
            }
            var value = property.Value;
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    var text = value.GetString()!;
                    if (text.Length > maxValueChars)
                    {
                        errors[name] = $"is longer than {maxValueChars} characters";
                        continue;
                    }
                    if (!Errors.InputText.IsText(text))
                    {
                        errors[name] = "contains a control character (only tab and line breaks are allowed)";
                        continue;
                    }
                    values[name] = (text, false);
                    break;
                case JsonValueKind.Number:
                    var raw = value.GetRawText();
                    if (raw.Length > 100)
                    {
                        errors[name] = "is a number too long to be useful";
                        continue;
                    }
                    if (!IsFinite(raw))
                    {
                        errors[name] = "is a number beyond what a double holds";
                        continue;
                    }
                    values[name] = (raw, true);
                    break;
                default:
                    errors[name] = $"must be a string or a number, not {Describe(value.ValueKind)}";
                    break;
            }
        }
        foreach (var variable in variables)
        {
            if (!values.ContainsKey(variable) && !errors.ContainsKey(variable))
            {
                errors[variable] = "is required";
            }
        }
        return errors.Count == 0 ? new RequestInputs(values) : null;
    }

    /// <summary>
    /// Whether a JSON number is one a double holds: neither beyond its range (1e400) nor
    /// vanishing below it (1e-400). Inputs keep their raw text, but such a number cannot be stored
    /// in PostgreSQL jsonb (numeric overflow) and means nothing to a model.
    /// </summary>
    private static bool IsFinite(string raw)
    {
        var value = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        return double.IsFinite(value) && (value != 0 || !raw.Split('e', 'E')[0].Any(c => c is >= '1' and <= '9'));
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public Dictionary<string, string> AsText() => Values.ToDictionary(v => v.Key, v => v.Value.Text, StringComparer.Ordinal);

    /// <summary>The inputs as stored and shown: strings stay strings, numbers stay numbers.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, (text, isNumber)) in Values)
            {
                writer.WritePropertyName(name);
                if (isNumber)
                {
                    writer.WriteRawValue(text, skipInputValidation: true);
                }
                else
                {
                    writer.WriteStringValue(text);
                }
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The request id: 128 bits of SHA-256 over user, offer (or deal), canonical inputs, a deal's
    /// chosen add-ons (as a set) and the optional Idempotency-Key. Each part is length-prefixed
    /// so no two different requests share an encoding; a string "1" and a number 1 differ.
    /// </summary>
    public string RequestId(string userId, string kind, string target, string? idempotencyKey, IEnumerable<string>? addons = null)
    {
        // The parts in order; hashed in one call over one buffer (one P/Invoke into OpenSSL, where
        // an incremental hash made two per part: a measurable share of the submit's CPU).
        var parts = new List<string>(4 + (3 * Values.Count)) { userId, kind, target };
        foreach (var (name, (text, isNumber)) in Values)
        {
            parts.Add(name);
            parts.Add(isNumber ? "n" : "s");
            parts.Add(text);
        }
        parts.AddRange((addons ?? []).Order(StringComparer.Ordinal).Select(a => "+" + a));
        parts.Add(idempotencyKey ?? "");
        var size = parts.Sum(p => 4 + Encoding.UTF8.GetByteCount(p));
        var rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var at = 0;
            foreach (var part in parts)
            {
                var length = Encoding.UTF8.GetBytes(part, rented.AsSpan(at + 4));
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(rented.AsSpan(at), length);
                at += 4 + length;
            }
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(rented.AsSpan(0, at), digest);
            return Convert.ToHexStringLower(digest[..16]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
