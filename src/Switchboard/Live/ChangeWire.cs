using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Switchboard.Live;

/// <summary>
/// The change feed's message between processes: a batch of changes from one process,
/// <c>{"o":"&lt;origin&gt;","c":[["&lt;request id&gt;",&lt;kind&gt;,"&lt;text&gt;"?],…]}</c>. The origin lets a
/// process skip its own batches (its hub had them at the commit). Hand-written with
/// <see cref="Utf8JsonWriter"/> rather than serialized from records: a batch is split by its
/// encoded size, which a serializer does not tell piece by piece.
/// </summary>
public static class ChangeWire
{
    private static readonly byte[] Separator = ","u8.ToArray();
    private static readonly byte[] Close = "]}"u8.ToArray();

    /// <summary>
    /// <paramref name="changes"/> as messages of at most <paramref name="maxBytes"/> UTF-8 bytes
    /// each (a change is never split; one that alone exceeds the bound, which
    /// <see cref="RequestChange.MaxPartialChars"/> rules out, is dropped).
    /// </summary>
    public static List<string> Encode(string origin, IReadOnlyList<RequestChange> changes, int maxBytes)
    {
        var messages = new List<string>();
        var head = Encoding.UTF8.GetBytes($"{{\"o\":{JsonSerializer.Serialize(origin)},\"c\":[");
        var message = new ArrayBufferWriter<byte>(Math.Min(maxBytes, 4096));
        var entry = new ArrayBufferWriter<byte>(256);
        var count = 0;
        foreach (var change in changes)
        {
            entry.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(entry))
            {
                writer.WriteStartArray();
                writer.WriteStringValue(change.RequestId);
                writer.WriteNumberValue((int)change.Kind);
                if (change.Text is not null)
                {
                    writer.WriteStringValue(change.Text);
                }
                writer.WriteEndArray();
            }
            if (head.Length + entry.WrittenCount + Close.Length > maxBytes)
            {
                continue;
            }
            if (count > 0 && message.WrittenCount + Separator.Length + entry.WrittenCount + Close.Length > maxBytes)
            {
                messages.Add(Finish(message));
                count = 0;
            }
            if (count == 0)
            {
                message.ResetWrittenCount();
                message.Write(head);
            }
            else
            {
                message.Write(Separator);
            }
            message.Write(entry.WrittenSpan);
            count++;
        }
        if (count > 0)
        {
            messages.Add(Finish(message));
        }
        return messages;
    }

    private static string Finish(ArrayBufferWriter<byte> message)
    {
        message.Write(Close);
        return Encoding.UTF8.GetString(message.WrittenSpan);
    }

    /// <summary>
    /// The origin and changes of a message, or null when it is not one (another program on the
    /// same channel, a newer format): the feed ignores it. A partial text longer than
    /// <see cref="RequestChange.MaxPartialChars"/> is cut there, whoever sent it.
    /// </summary>
    public static (string Origin, List<RequestChange> Changes)? Decode(string message)
    {
        try
        {
            using var document = JsonDocument.Parse(message);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("o", out var origin) || origin.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("c", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            var changes = new List<RequestChange>(list.GetArrayLength());
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() < 2
                    || item[0].ValueKind != JsonValueKind.String || !item[1].TryGetInt32(out var kind)
                    || !Enum.IsDefined((ChangeKind)kind))
                {
                    continue;
                }
                var text = item.GetArrayLength() > 2 && item[2].ValueKind == JsonValueKind.String ? item[2].GetString() : null;
                if (text is { Length: > RequestChange.MaxPartialChars })
                {
                    text = text[..RequestChange.MaxPartialChars];
                }
                changes.Add(new RequestChange(item[0].GetString()!, (ChangeKind)kind, text));
            }
            return (origin.GetString()!, changes);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
