using System.Text;

namespace Switchboard.Handlers;

/// <summary>
/// Reads an upstream's answer with a bound (the <c>api</c> config's <c>max_upstream_bytes</c>):
/// a declared length over it is refused before reading, and an undeclared one stops at the
/// bound, so a hostile or broken upstream cannot fill the executor's memory. Send with
/// <see cref="HttpCompletionOption.ResponseHeadersRead"/> so nothing is buffered before this.
/// </summary>
public static class UpstreamBody
{
    public const string TooLargeCode = "upstream_too_large";

    /// <summary>The bound when the <c>api</c> config sets none (<c>ApiConfig.DefaultMaxUpstreamBytes</c> is this).</summary>
    public const long DefaultMaxBytes = HandlerContext.DefaultMaxUpstreamBytes;

    public static async Task<string> ReadAsync(HttpResponseMessage response, long maxBytes, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(maxBytes);
            }
            buffer.Write(chunk, 0, read);
        }
        var charset = response.Content.Headers.ContentType?.CharSet;
        var encoding = Encoding.UTF8;
        if (charset is { Length: > 0 })
        {
            try
            {
                encoding = Encoding.GetEncoding(charset.Trim('"'));
            }
            catch (ArgumentException)
            {
                // An unknown charset: UTF-8, as JSON is.
            }
        }
        return encoding.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static HandlerException TooLarge(long maxBytes) =>
        HandlerException.Permanent(TooLargeCode, $"the upstream's answer is larger than {maxBytes} bytes (api config max_upstream_bytes)");
}
