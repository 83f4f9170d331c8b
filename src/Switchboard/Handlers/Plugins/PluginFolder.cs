namespace Switchboard.Handlers.Plugins;

/// <summary>
/// Where a process looks for handler plugins: <see cref="Path"/> holds one folder per plugin,
/// <c>&lt;name&gt;/&lt;name&gt;.dll</c> with its <c>.deps.json</c> and dependencies (what
/// <c>dotnet publish</c> writes). <see cref="Named"/>: the operator named it (bootstrap config
/// <c>plugins.path</c>), so it must exist; the default <c>./handlers</c> may be absent.
/// </summary>
public sealed record PluginFolder(string Path, bool Named)
{
    /// <summary>The default: <c>handlers</c> in the working directory, beside the default <c>./data</c>.</summary>
    public const string DefaultPath = "handlers";

    public static PluginFolder Default { get; } = new(DefaultPath, Named: false);
}
