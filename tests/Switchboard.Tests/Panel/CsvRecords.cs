using System.Text;

namespace Switchboard.Tests.Panel;

/// <summary>The panel's CSV exports read back as a spreadsheet would, for the tests that check them.</summary>
public static class CsvRecords
{
    /// <summary>RFC 4180 records: quoted cells may hold commas, doubled quotes and line breaks; the text ends with CRLF.</summary>
    public static List<string[]> Parse(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(cell.ToString());
                cell.Clear();
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(cell.ToString());
                cell.Clear();
                rows.Add([.. row]);
                row.Clear();
                i++;
            }
            else
            {
                cell.Append(c);
            }
        }
        Assert.True(row.Count == 0 && cell.Length == 0, "the CSV ends with CRLF");
        return rows;
    }
}
