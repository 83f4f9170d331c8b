using System.Text.Json;
using System.Text.Json.Nodes;

namespace Switchboard.Admin;

/// <summary>Reading the JSON bodies of the admin API.</summary>
public static class AdminJson
{
    /// <summary>
    /// The body as a JSON object, or null when it is not one or is longer than
    /// <paramref name="maxBytes"/> (never more than that is read). Properties are read once here,
    /// so a duplicate name fails now, as malformed JSON.
    /// </summary>
    public static async Task<JsonObject?> ReadObject(HttpRequest request, int maxBytes)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        try
        {
            var body = JsonNode.Parse(buffer.ToArray()) as JsonObject;
            _ = body?.Count;
            return body;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return null;
        }
    }
}
