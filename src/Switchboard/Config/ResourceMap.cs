using System.Text.RegularExpressions;

namespace Switchboard.Config;

/// <summary>What to do when a resource has no capacity left: queue the job, or refuse new requests (429).</summary>
public enum OnExhausted { Wait, Reject }

/// <summary>One shared resource (an external API's limits across every executor).</summary>
public sealed record ResourceSpec(
    string Name, int? MaxConcurrent, int? Rpm, long? Credits, TimeSpan Period, OnExhausted OnExhausted, int LeaseSeconds);

/// <summary>
/// The <c>resource_map</c> config: shared resources by name, which handlers name in the catalog
/// (<c>resource</c>). Loaded and validated here; the gates that enforce it come with the
/// resources issue.
/// </summary>
public sealed partial class ResourceMap(IReadOnlyDictionary<string, ResourceSpec> resources)
{
    public const string Id = "resource_map";

    public static readonly ResourceMap Empty = new(new Dictionary<string, ResourceSpec>());

    public IReadOnlyDictionary<string, ResourceSpec> Resources { get; } = resources;

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}\\z")]
    private static partial Regex Name();

    public static ResourceMap Read(JsonObject values, List<string> errors)
    {
        var resources = new Dictionary<string, ResourceSpec>(StringComparer.Ordinal);
        foreach (var (name, node) in values)
        {
            var path = YamlJson.Child(Id, name);
            if (!Name().IsMatch(name))
            {
                errors.Add($"{path}: a resource name is letters, digits, '_', '.', '-'");
                continue;
            }
            if (node is not JsonObject spec)
            {
                errors.Add($"{path} must be a mapping (max_concurrent, rpm, credits, period, on_exhausted, lease_s)");
                continue;
            }
            var read = new ConfigValues(spec, path, errors);
            read.OnlyKnown("max_concurrent", "rpm", "credits", "period", "on_exhausted", "lease_s");
            var onExhausted = read.Text("on_exhausted") switch
            {
                null or "wait" => OnExhausted.Wait,
                "reject" => OnExhausted.Reject,
                _ => Invalid(errors, $"{read.At("on_exhausted")} must be wait or reject"),
            };
            resources[name] = new ResourceSpec(
                name,
                (int?)read.Long("max_concurrent", 1, 1_000_000),
                (int?)read.Long("rpm", 1, 100_000_000),
                read.Long("credits", 0, long.MaxValue),
                read.Duration("period") ?? TimeSpan.FromDays(1),
                onExhausted,
                (int?)read.Long("lease_s", 1, 86_400) ?? 60);
        }
        return new ResourceMap(resources);
    }

    private static OnExhausted Invalid(List<string> errors, string message)
    {
        errors.Add(message);
        return OnExhausted.Wait;
    }
}
