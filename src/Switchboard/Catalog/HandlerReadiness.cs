using Switchboard.Handlers;
using Switchboard.Config;

namespace Switchboard.Catalog;

/// <summary>
/// An offer whose handler cannot run: the endpoint profile it calls is missing from
/// <c>svc_handlers</c> (<see cref="Missing"/> names the config path to set), or the environment
/// variable holding the profile's key is not set on the executors (<see cref="Variable"/>).
/// </summary>
public sealed record HandlerProblem(string Offer, string Handler, string Profile, string Missing, string? Variable)
{
    /// <summary>The 503's detail: what the operator must configure, never a value (nor the variable's name, which clients need not know).</summary>
    public string Detail => Variable is null
        ? $"Its handler '{Handler}' cannot run: {Missing} (pushed with `switchboard config push`)."
        : $"Its handler '{Handler}' cannot run: the executors lack the credential of endpoint profile '{Profile}' (an environment variable named in svc_handlers).";

    /// <summary>For the log, the CLI and <c>/readyz</c> (operators): names the variable, never its value.</summary>
    public string Text => $"{Offer} ({Handler}): " + (Variable is null
        ? Missing
        : $"endpoint profile '{Profile}' reads its key from environment variable {Variable}, which is not set on the executors");
}

/// <summary>
/// Which offers are not live because their handler cannot run (<see cref="HandlerProblem"/>),
/// decided once per snapshot of the catalog, the <c>svc_handlers</c> and <c>service_map</c>
/// configs and the executors' missing variables (reference checks per request, nothing more: the
/// submit path is benchmarked), so a fixed config makes them live within one store poll. Each new
/// problem is logged once as a warning. <paramref name="missingEnv"/> is the variables missing on
/// every executor: this process's own in <c>serve</c>, the heartbeats' in the distributed
/// deployment (<see cref="Health.ExecutorReports"/>).
/// </summary>
public sealed class HandlerReadiness(
    CatalogCache catalog, AppConfigs configs, HandlerRegistry handlers, Func<IReadOnlySet<string>> missingEnv, ILogger<HandlerReadiness> logger)
{
    public const string Code = "handler_misconfigured";


    private sealed record View(
        CatalogSnapshot Catalog, HandlerSettings Settings, ServiceMap Services, IReadOnlySet<string> MissingEnv,
        Dictionary<OfferEntry, HandlerProblem> ByOffer);

    /// <summary>Every offer that cannot run now, in catalog order.</summary>
    public IReadOnlyCollection<HandlerProblem> Problems => Current().ByOffer.Values;

    /// <summary>503 <c>handler_misconfigured</c> when <paramref name="offer"/>'s handler cannot run, else null.</summary>
    public IResult? NotLive(OfferEntry offer) =>
        Current().ByOffer.TryGetValue(offer, out var problem)
            ? Errors.Problems.Of(503, Code, "This action is not available now", problem.Detail)
            : null;

    private SnapshotMemo<View>? _memo;

    // Made once (the loser of a first race is dropped before use): the delegates cost nothing per call after.
    private View Current() => (_memo ?? LazyInitializer.EnsureInitialized(ref _memo, () => new SnapshotMemo<View>(IsCurrent, Next))).Current;

    private View Next(View? previous)
    {
        var (snapshot, settings, services, missing) = (catalog.Current, configs.Handlers, configs.Services, missingEnv());
        var before = previous?.ByOffer.Values.Select(p => p.Text).ToHashSet() ?? [];
        var found = Find(snapshot.Offers, settings, services, handlers, missing);
        foreach (var problem in found.Values.Where(p => !before.Contains(p.Text)))
        {
            logger.LogWarning("Offer not live, its handler cannot run: {Problem}", problem.Text);
        }
        return new View(snapshot, settings, services, missing, found);
    }

    private bool IsCurrent(View view) =>
        view.Catalog == catalog.Current && view.Settings == configs.Handlers && view.Services == configs.Services && view.MissingEnv == missingEnv();

    /// <summary>
    /// The offers of <paramref name="offers"/> whose installed handler calls a profile that
    /// <paramref name="settings"/> lacks, or whose key variable is in <paramref name="missingEnv"/>.
    /// Offers with legacy params or a malformed profile name are left to their own checks.
    /// </summary>
    public static Dictionary<OfferEntry, HandlerProblem> Find(
        IEnumerable<OfferEntry> offers, HandlerSettings settings, ServiceMap services, HandlerRegistry handlers, IReadOnlySet<string> missingEnv)
    {
        var found = new Dictionary<OfferEntry, HandlerProblem>(ReferenceEqualityComparer.Instance);
        foreach (var offer in offers)
        {
            // An offer with several endpoints needs every one: a missing fallback is found now, not in an outage.
            var seen = OfferEndpoints.Of(offer.Params) is { } list
                ? list.Endpoints.Select(e => OfferEndpoints.ForHandler(offer.Params, e.Name))
                : [offer.Params];
            foreach (var parameters in seen)
            {
                if (!services.IsInstalled(offer.Handler) || handlers.Find(offer.Handler)?.EndpointProfileFor(parameters) is not { } profile
                    || !EndpointProfiles.IsName(profile) || EndpointProfiles.LegacyParams(offer.Params).Count > 0)
                {
                    continue;
                }
                var merged = settings.For(offer.Handler);
                var path = $"{offer.Service}/{offer.Action}";
                if (EndpointProfiles.Missing(merged, offer.Handler, profile) is { } missing)
                {
                    found[offer] = new HandlerProblem(path, offer.Handler, profile, missing, null);
                    break;
                }
                if (EndpointProfiles.KeyVariable(merged, profile) is { } variable && missingEnv.Contains(variable))
                {
                    found[offer] = new HandlerProblem(path, offer.Handler, profile, $"environment variable {variable} is not set", variable);
                    break;
                }
            }
        }
        return found;
    }
}

/// <summary>What <c>switchboard catalog apply</c> and <c>catalog check</c> say of the handlers, read from the store as a server would.</summary>
public static class HandlerConfigReport
{
    /// <summary>
    /// Problems: the stored catalog's offers whose handler cannot run with the active
    /// <c>svc_handlers</c> and <c>service_map</c> (or one line saying the configs could not be
    /// read). Notes: the profiles whose key is an executor's environment variable, which only the
    /// executors can check. Operator-facing: names and paths, never values.
    /// </summary>
    public static (List<string> Problems, List<string> Notes) Of(Config.BootstrapConfig bootstrap, Storage.Store store, HandlerRegistry handlers)
    {
        var configs = new AppConfigs(bootstrap, store, Microsoft.Extensions.Options.Options.Create(new SwitchboardOptions()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AppConfigs>.Instance);
        try
        {
            configs.LoadAtStart();
        }
        catch (Exception ex) when (ex is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            // ConfigException and BootstrapException (both ArgumentException) name paths, never values.
            return ([$"the handlers' configs could not be read to check them: {ex.Message}"], []);
        }
        CatalogSnapshot catalog;
        using (var connection = store.Open())
        {
            catalog = CatalogStore.Load(connection);
        }
        var problems = HandlerReadiness.Find(catalog.Offers, configs.Handlers, configs.Services, handlers, new HashSet<string>());
        var notes = catalog.Offers
            .Where(o => !problems.ContainsKey(o) && configs.Services.IsInstalled(o.Handler))
            .Select(o => (Offer: o, Profile: handlers.Find(o.Handler)?.EndpointProfileFor(o.Params)))
            .Where(x => x.Profile is not null && EndpointProfiles.IsName(x.Profile))
            .Select(x => (x.Offer, x.Profile, Variable: EndpointProfiles.KeyVariable(configs.Handlers.For(x.Offer.Handler), x.Profile!)))
            .Where(x => x.Variable is not null)
            .Select(x => $"{x.Offer.Service}/{x.Offer.Action} ({x.Offer.Handler}): endpoint profile '{x.Profile}' reads its key from environment variable {x.Variable} on each executor; an executor without it says so in its log, /readyz and the credential_missing alert")
            .ToList();
        return ([.. problems.Values.Select(p => $"{p.Text}; not live (503 {HandlerReadiness.Code}) until it is set")], notes);
    }
}
