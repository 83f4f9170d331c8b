using System.Globalization;
using System.Text;

namespace Switchboard.Admin.Panel;

/// <summary>
/// CSV for the panel's exports (RFC 4180): a cell holding a comma, a quote or a line break is
/// quoted, its quotes doubled; a cell a spreadsheet would read as a formula (it starts with
/// = + - @, a tab or a carriage return) is prefixed with ' so it stays text.
/// </summary>
public static class PanelCsv
{
    public const string ContentType = "text/csv; charset=utf-8";

    public static string Cell(string? value)
    {
        var text = value ?? "";
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            text = "'" + text;
        }
        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : text;
    }

    /// <summary>One record, CRLF-terminated as RFC 4180 has it.</summary>
    public static string Line(params string?[] cells)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            line.Append(i == 0 ? "" : ",").Append(Cell(cells[i]));
        }
        return line.Append("\r\n").ToString();
    }

    /// <summary>A time cell: ISO 8601 in UTC with milliseconds ("" for none).</summary>
    public static string Time(long? ms) =>
        ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "";

    /// <summary>
    /// Writes the records of <paramref name="pages"/> (each from <paramref name="line"/>, CRLF-terminated), a page at a
    /// time as they are read, so nothing is held while a slow client reads; at most <paramref name="maxRows"/>, and when
    /// rows were left, a last record <paramref name="stopped"/> says so (null: nothing is said).
    /// </summary>
    public static async Task WriteRowsAsync<T>(HttpResponse response, IEnumerable<IReadOnlyList<T>> pages, Func<T, string> line,
        int maxRows, string? stopped, CancellationToken cancel)
    {
        var written = 0;
        foreach (var page in pages)
        {
            var text = new StringBuilder();
            var taken = 0;
            foreach (var row in page.Take(maxRows - written))
            {
                text.Append(line(row));
                taken++;
            }
            written += taken;
            var left = taken < page.Count;
            if (left && stopped is not null)
            {
                text.Append(Line(stopped));
            }
            await response.WriteAsync(text.ToString(), cancel);
            if (left)
            {
                break;
            }
        }
    }

    /// <summary>Starts a download named <paramref name="fileName"/> (ASCII, chosen by the server).</summary>
    public static void Start(HttpResponse response, string fileName)
    {
        response.ContentType = ContentType;
        response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        response.Headers.CacheControl = "no-store";
    }
}
