using System.Text.RegularExpressions;

namespace Switchboard.Config;

/// <summary>
/// An admin's push of a new version of a config (the panel's YAML editor). The text comes from
/// an editor that never held a secret: it was filled with the active version's text, each
/// <c>~</c> value masked, and a value left masked keeps the sealed value stored at its path
/// (<see cref="ConfigProtocol.SealKeeping"/>); any other <c>~</c> value is sealed as the CLI's
/// <c>config push</c> seals it, and the result passes the same checks
/// (<see cref="ConfigPushChecks"/>). What is the operator's stays the operator's
/// (docs/security.md): a push that would change the endpoint profiles (the rule of an admin's
/// rollback, <see cref="ConfigAdmin.KeepsEndpointProfiles"/>) or add or change an <c>!ENV</c>
/// reference (which reads the process environment) is refused.
/// </summary>
public static partial class ConfigAdminPush
{
    /// <summary>The longest text an admin may push (the panel's form limit is larger).</summary>
    public const int MaxChars = 256 * 1024;

    public enum Outcome { Pushed, Invalid, OperatorOnly, Stale }

    /// <param name="Problems">What is wrong, each naming a line (<c>line 3, column 5: …</c>) or a key path when known; never a secret.</param>
    public sealed record Result(Outcome Outcome, IReadOnlyList<string> Problems, ConfigVersion? Pushed = null);

    public const string EndpointProfilesReason =
        "This push would change where credentials are sent or which credentials are used (hosts, keys, variable names of svc_handlers' endpoint profiles); endpoint profiles are the operator's (`switchboard config push`).";

    public const string EnvReason =
        "This push adds, changes or removes an !ENV reference: what is read from the process environment is the operator's (`switchboard config push`).";

    /// <summary>The name of the text in messages, replaced by the line and column (see <see cref="Result.Problems"/>).</summary>
    private const string Source = "yaml";

    /// <summary>
    /// Pushes <paramref name="text"/> as the next version of <paramref name="id"/>, made active, by
    /// <paramref name="actor"/>, when <paramref name="basedOn"/> (the version the editor was filled
    /// from; "" for none) is still the active one; otherwise nothing is stored.
    /// </summary>
    public static Result Push(AppConfigs configs, BootstrapConfig bootstrap, string id, string text, string basedOn, string? comment, string actor, ILogger logger)
    {
        var active = configs.Versions.Get(id, null);
        if ((active?.Version ?? "") != basedOn)
        {
            return new Result(Outcome.Stale, [$"Version {active?.Version ?? "(none)"} was made active while this text was edited: compare, then push again."]);
        }
        if (text.Length > MaxChars)
        {
            return new Result(Outcome.Invalid, [$"The text is longer than {MaxChars:#,0} characters."]);
        }
        var keys = bootstrap.Keys();
        string stored;
        ConfigPushChecks.Checked read;
        try
        {
            var kept = active is null ? [] : ConfigProtocol.Tokens(active.Content, $"config {id}@{active.Version}", id);
            stored = ConfigProtocol.SealKeeping(text, Source, id, keys, kept);
            read = ConfigPushChecks.Check(id, stored, Source, keys);
        }
        catch (ConfigException ex)
        {
            return new Result(Outcome.Invalid, [Lined(ex.Message)]);
        }
        if (read.Problems.Count > 0)
        {
            return new Result(Outcome.Invalid, [.. read.Problems.Select(Lined)]);
        }
        if (!ConfigAdmin.KeepsEndpointProfiles(bootstrap, active, id, stored, Source))
        {
            return new Result(Outcome.OperatorOnly, [EndpointProfilesReason]);
        }
        if (!SameEnvReferences(read.Values, id, active))
        {
            return new Result(Outcome.OperatorOnly, [EnvReason]);
        }
        ConfigVersion pushed;
        try
        {
            pushed = configs.Versions.Push(id, null, stored, actor, comment, activate: true);
        }
        catch (ConfigException ex)
        {
            return new Result(Outcome.Invalid, [ex.Message]);
        }
        logger.LogInformation("Config {Id} version {Version} pushed by {Actor} ({Secrets} secret value(s))", id, pushed.Version, actor, read.Secrets);
        return new Result(Outcome.Pushed, [], pushed);
    }

    /// <summary>The editor's starting text: the active version with its secrets masked ("" when none is stored).</summary>
    public static string EditorText(ConfigVersion? active) =>
        active is null ? "" : ConfigProtocol.ForEditor(active.Content, ConfigDiff.Source(active), active.Id);

    /// <summary>Whether <paramref name="values"/> reads the environment exactly where and as the active version does; an active version that does not open counts as different.</summary>
    private static bool SameEnvReferences(JsonObject values, string id, ConfigVersion? active)
    {
        try
        {
            var before = active is null
                ? []
                : ConfigPushChecks.EnvReferences(ConfigProtocol.Unwrap(id, ConfigProtocol.Load(active.Content, $"config {id}@{active.Version}", new ConfigProtocol.Reading(id, null, mask: true, keepEnv: true))));
            return ConfigPushChecks.EnvReferences(values).SequenceEqual(before);
        }
        catch (ConfigException)
        {
            return false;
        }
    }

    /// <summary>"yaml:3:5: message" as "line 3, column 5: message".</summary>
    private static string Lined(string message) =>
        Place().Match(message) is { Success: true } m ? $"line {m.Groups[1].Value}, column {m.Groups[2].Value}: {m.Groups[3].Value}" : message;

    [GeneratedRegex(@"\Ayaml:(\d+):(\d+): (.*)\z", RegexOptions.Singleline)]
    private static partial Regex Place();
}
