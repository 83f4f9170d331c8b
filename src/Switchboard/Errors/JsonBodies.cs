using System.Buffers;

namespace Switchboard.Errors;

/// <summary>
/// The two checks every JSON body passes first, for the client API (<c>Requests/SubmitEndpoint</c>,
/// deals) and the admin API (<see cref="AdminJson"/>) alike: a JSON media type, and a bounded read.
/// </summary>
public static class JsonBodies
{
    internal static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }
        var media = contentType.Split(';', 2)[0].Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes; more (declared or sent) is "too large", never buffered whole.</summary>
    internal static async Task<(ReadOnlyMemory<byte> Body, bool TooLarge)> ReadBody(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return (default, true);
        }
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 1024, limit) + 1);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await request.Body.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return (buffer.WrittenMemory, false);
            }
            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return (default, true);
            }
        }
    }
}
