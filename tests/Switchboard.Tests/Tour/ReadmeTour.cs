namespace Switchboard.Tests.Tour;

/// <summary>What a tour block is for, as the tour test runs it.</summary>
public enum TourBlockKind
{
    /// <summary>Builds the binary (<c>dotnet publish</c>): run in the repository itself.</summary>
    Build,

    /// <summary>Starts the server (the first terminal): run in the background.</summary>
    Server,

    /// <summary>A step of the second terminal: run in order, in one shell, so its variables carry over.</summary>
    Step,

    /// <summary>Starts with <c># optional: reason</c>: needs the internet or a tool Debian does not package; skipped.</summary>
    Optional,
}

/// <param name="Info">The fence's info string (what follows the opening backticks).</param>
public sealed record TourBlock(int Index, string Info, string Text, TourBlockKind Kind)
{
    /// <summary>Why an optional block is optional (after <c># optional:</c> on its first line); null otherwise.</summary>
    public string? OptionalReason =>
        Kind == TourBlockKind.Optional ? Text.Split('\n')[0][ReadmeTour.OptionalMarker.Length..].Trim() : null;
}

/// <summary>
/// The "A two-minute tour" section of the repository's README.md, split into its fenced blocks
/// (in order), each classified by what it is for.
/// </summary>
public static class ReadmeTour
{
    public const string Heading = "## A two-minute tour";
    public const string OptionalMarker = "# optional:";

    /// <summary>The server's URL as the README sets it; the test points it at a free port.</summary>
    public const string UrlAssignment = "SB=http://127.0.0.1:8080";

    /// <summary>The repository's root: the folder above the test's binaries that holds README.md and Switchboard.slnx.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no README.md with Switchboard.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>The tour section's text, from its heading to the next level-2 heading.</summary>
    public static string Section()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")).ReplaceLineEndings("\n");
        var start = readme.IndexOf("\n" + Heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no '{Heading}' section");
        var end = readme.IndexOf("\n## ", start + Heading.Length + 2, StringComparison.Ordinal);
        return end < 0 ? readme[start..] : readme[start..end];
    }

    /// <summary>Every fenced block of the tour, in order.</summary>
    public static IReadOnlyList<TourBlock> Blocks()
    {
        var blocks = new List<TourBlock>();
        var lines = Section().Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }
            var info = lines[i][3..].Trim();
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add(lines[i]);
            }
            Assert.True(i < lines.Length, $"an unclosed fenced block in the tour ({info})");
            var text = string.Join('\n', body);
            blocks.Add(new TourBlock(blocks.Count, info, text, KindOf(text)));
        }
        return blocks;
    }

    private static TourBlockKind KindOf(string text)
    {
        var lines = text.Split('\n').Select(l => l.Trim()).ToList();
        if (lines[0].StartsWith(OptionalMarker, StringComparison.Ordinal))
        {
            return TourBlockKind.Optional;
        }
        if (lines.Any(l => l.StartsWith("dotnet publish ", StringComparison.Ordinal)))
        {
            return TourBlockKind.Build;
        }
        return lines.Any(l => l.Contains("switchboard serve", StringComparison.Ordinal)) ? TourBlockKind.Server : TourBlockKind.Step;
    }
}
