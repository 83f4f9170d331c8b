namespace Switchboard.Config;

/// <summary>
/// The <c>service_map</c> config: which handler modules are installed (the original system's
/// INSTALLED_SERVICES). Entries name a module (<c>openai</c>: all its methods) or one handler
/// (<c>openai.chat</c>). Without the config, every handler of this build is installed.
/// </summary>
public sealed class ServiceMap(IReadOnlySet<string>? installed)
{
    public const string Id = "service_map";

    public static readonly ServiceMap Everything = new(null);

    /// <summary>Null when every handler is installed.</summary>
    public IReadOnlySet<string>? Installed { get; } = installed;

    public bool IsInstalled(string handlerId)
    {
        if (Installed is null)
        {
            return true;
        }
        var dot = handlerId.IndexOf('.', StringComparison.Ordinal);
        return Installed.Contains(handlerId) || (dot > 0 && Installed.Contains(handlerId[..dot]));
    }

    public static ServiceMap Read(JsonObject values, List<string> errors)
    {
        var key = values.ContainsKey("installed") ? "installed" : values.ContainsKey("INSTALLED_SERVICES") ? "INSTALLED_SERVICES" : null;
        if (key is null)
        {
            if (values.Count > 0)
            {
                errors.Add($"{Id} must list the installed handler modules under 'installed'");
            }
            return Everything;
        }
        if (values[key] is not JsonArray list)
        {
            errors.Add($"{Id}.{key} must be a list of handler modules (openai) or handler ids (openai.chat)");
            return Everything;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is JsonValue v && v.TryGetValue<string>(out var name) && name.Length > 0)
            {
                names.Add(name);
            }
            else
            {
                errors.Add($"{Id}.{key}[{i}] must be a handler module or id");
            }
        }
        return new ServiceMap(names);
    }
}
