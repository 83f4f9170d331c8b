namespace Switchboard.Handlers.Plugins;

/// <summary>
/// A handler plugin that cannot be used; the message names its file and what is wrong. An
/// <see cref="ArgumentException"/>, so the command line prints it as one line and exits 1, as it
/// does for a bad bootstrap config: a server with a broken plugin does not start.
/// </summary>
public sealed class PluginException(string file, string problem, Exception? inner = null)
    : ArgumentException($"handler plugin {file}: {problem}", inner)
{
    public string File { get; } = file;
}
