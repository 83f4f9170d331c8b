using System.Text.RegularExpressions;

namespace Switchboard.Tests.Architecture;

/// <summary>
/// Only the lifecycle writes <c>requests</c>: a file anywhere else in src/ that updates, inserts
/// into or deletes from the table fails this test. The migrations create and alter the table;
/// they may not write its rows either.
/// </summary>
public sealed partial class RequestWritesTests
{
    // Whitespace of any kind between the words (a statement split over lines), any case, an
    // optional schema ("public.requests") and a quoted name.
    [GeneratedRegex("""\b(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+(\w+\.)?"?requests"?\b""", RegexOptions.IgnoreCase)]
    private static partial Regex RowWrite();

    private static string SourceRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var src = Path.Combine(dir.FullName, "src", "Switchboard");
            if (Directory.Exists(src))
            {
                return src;
            }
        }
        throw new DirectoryNotFoundException("src/Switchboard not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void NoFileOutsideTheLifecycleFolderWritesRequests()
    {
        var root = SourceRoot();
        var lifecycle = Path.Combine(root, "Lifecycle") + Path.DirectorySeparatorChar;
        var offenders = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(lifecycle, StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => RowWrite().Matches(File.ReadAllText(f)).Select(m => $"{Path.GetRelativePath(root, f)}: {m.Value}"))
            .ToList();

        Assert.True(offenders.Count == 0, "requests is written outside Lifecycle/:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void TheLifecycleFolderIsWhereTheWritesAre()
    {
        // Guards the test above against passing because it looked in the wrong place.
        var lifecycle = Path.Combine(SourceRoot(), "Lifecycle");
        var writes = Directory.EnumerateFiles(lifecycle, "*.cs").Sum(f => RowWrite().Matches(File.ReadAllText(f)).Count);

        Assert.True(writes >= 20, $"only {writes} writes of requests found in Lifecycle/");
    }

    [Theory]
    [InlineData("UPDATE requests SET status = 'x'", true)]
    [InlineData("update\n    requests r SET", true)]
    [InlineData("INSERT   INTO public.requests (id)", true)]
    [InlineData("DELETE FROM \"requests\" WHERE", true)]
    [InlineData("SELECT id FROM requests WHERE", false)]
    [InlineData("UPDATE requests_archive SET", false)]
    [InlineData("CREATE TABLE requests (id TEXT)", false)]
    public void TheCheckFindsWritesHoweverTheyAreSpelled(string sql, bool write) =>
        Assert.Equal(write, RowWrite().IsMatch(sql));
}
