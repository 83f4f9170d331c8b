using Switchboard.Handlers;

namespace Switchboard.Config;

/// <summary>
/// This executor's view of the credentials it must read from its own environment: every
/// <c>api_key_env</c> named by a profile of a handler installed here (<see cref="IServiceHandler.EndpointProfileFor"/>
/// says which handlers call out), checked at start and again whenever <c>svc_handlers</c> or
/// <c>service_map</c> change. The api cannot see an executor's environment, so a variable missing
/// here is reported by this process: a warning in its log (the name, never a value), its heartbeat
/// and <c>/readyz</c>, and recon's <c>credential_missing</c> alert.
/// </summary>
public sealed class ExecutorCredentials(AppConfigs configs, HandlerRegistry handlers, ILogger<ExecutorCredentials> logger)
{
    private SnapshotMemo<View>? _memo;

    private sealed record View(HandlerSettings Settings, ServiceMap Services, IReadOnlySet<string> Missing);

    /// <summary>
    /// The variables named by installed handlers' profiles that are unset or empty here, in name
    /// order. Computed once per config snapshot (reference checks otherwise), so any path may ask.
    /// </summary>
    public IReadOnlySet<string> Missing =>
        (_memo ?? LazyInitializer.EnsureInitialized(ref _memo, () => new SnapshotMemo<View>(v => v.Settings == configs.Handlers && v.Services == configs.Services, Next))).Current.Missing;

    private View Next(View? previous)
    {
        var (settings, services) = (configs.Handlers, configs.Services);
        var before = previous?.Missing ?? new HashSet<string>();
        var missing = Check(settings, services);
        foreach (var (variable, profiles) in missing.Where(m => !before.Contains(m.Key)))
        {
            logger.LogWarning(
                "Environment variable {Variable} is not set on this executor: the credential of {Profiles} cannot be sent, so their offers are not live here; set it and restart the executor",
                variable, string.Join(", ", profiles));
        }
        return new View(settings, services, new SortedSet<string>(missing.Keys, StringComparer.Ordinal));
    }

    /// <summary>Missing variables, each with the profiles (as config paths) that name it.</summary>
    private SortedDictionary<string, List<string>> Check(HandlerSettings settings, ServiceMap services)
    {
        var missing = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var id in handlers.Ids.Where(services.IsInstalled).Order(StringComparer.Ordinal))
        {
            if (handlers.Find(id)!.EndpointProfileFor([]) is null)
            {
                continue;
            }
            var merged = settings.For(id);
            foreach (var profile in EndpointProfiles.Names(merged))
            {
                if (EndpointProfiles.KeyVariable(merged, profile) is { } variable && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
                {
                    (missing.TryGetValue(variable, out var list) ? list : missing[variable] = []).Add($"{id} profile '{profile}'");
                }
            }
        }
        return missing;
    }
}
