using Switchboard.Admin.Panel.Components.Pages.Plans;
using Switchboard.Users;

namespace Switchboard.Admin.Panel.Components.Pages.Users;

/// <summary>
/// The user page's "create key" form as posted: every input optional (all empty: a key with no
/// limits of its own, as before), read into <see cref="KeySettings"/> and checked by its rules, the
/// admin API's; the errors by input.
/// </summary>
public sealed class KeyForm
{
    public string? Name { get; set; }

    /// <summary>One glob a line.</summary>
    public string? Scopes { get; set; }
    public string? Rpm { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "max_concurrent")] public string? MaxConcurrent { get; set; }
    public string? Budget { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "budget_period")] public string? BudgetPeriod { get; set; }

    /// <summary>A duration (90m, 12h, 30d) or an ISO 8601 date, as <see cref="KeySettings.ParseExpiry"/> reads it.</summary>
    public string? Expires { get; set; }

    /// <summary>The settings, or the errors by input (nothing is to be created then).</summary>
    public (KeySettings Settings, FieldErrors? Errors) Read(long now)
    {
        var messages = new List<string>();
        var scopes = Scopes?.Split('\n').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
        long? expires = null;
        if (!string.IsNullOrWhiteSpace(Expires) && (expires = KeySettings.ParseExpiry(Expires, now)) is null)
        {
            messages.Add("expires is a duration (90m, 12h, 30d) or an ISO 8601 date");
        }
        var settings = new KeySettings(
            string.IsNullOrWhiteSpace(Name) ? null : Name.Trim(), scopes is { Count: > 0 } ? scopes : null,
            (int?)Number(Rpm, "rpm", int.MaxValue, messages), (int?)Number(MaxConcurrent, "max_concurrent", int.MaxValue, messages),
            Number(Budget, "budget", long.MaxValue, messages), string.IsNullOrWhiteSpace(BudgetPeriod) ? null : BudgetPeriod.Trim(), expires);
        // Every rule broken at once (an input that did not read is null here, so not reported twice).
        messages.AddRange(settings.Problems(now));
        return (settings, ByInput(messages));
    }

    private static long? Number(string? text, string field, long max, List<string> messages)
    {
        if (PlanInput.Value(text) is not { } value)
        {
            return null;
        }
        if (value is long n && n <= max)
        {
            return n;
        }
        messages.Add($"{field} must be a whole number");
        return null;
    }

    /// <summary>Each message under the input it names: its first word, or "scopes" for a scope's.</summary>
    private static FieldErrors? ByInput(List<string> messages)
    {
        if (messages.Count == 0)
        {
            return null;
        }
        var errors = new FieldErrors();
        foreach (var message in messages)
        {
            var first = message.Split(' ', 2)[0];
            if (KeySettings.Fields.Contains(first))
            {
                errors.Add(first, message[(first.Length + 1)..]);
            }
            else
            {
                errors.Add(message.Contains("scope", StringComparison.Ordinal) ? "scopes" : "", message);
            }
        }
        return errors;
    }
}

/// <summary>The user page's scheduling form: plan, weight, priority, max_priority (empty clears), as <see cref="Switchboard.Users.Plans.UserFields"/>.</summary>
public sealed class SchedulingForm
{
    public string? Plan { get; set; }
    public string? Weight { get; set; }
    public string? Priority { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "max_priority")] public string? MaxPriority { get; set; }

    public static SchedulingForm Of(JsonObject settings) => new()
    {
        Plan = (string?)settings["plan"], Weight = settings["weight"]?.ToString(), Priority = settings["priority"]?.ToString(),
        MaxPriority = settings["max_priority"]?.ToString(),
    };

    /// <summary>The change of all four settings, and its errors by input (null: none).</summary>
    public (Dictionary<string, object?> Changes, FieldErrors? Errors) Read()
    {
        var changes = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["plan"] = string.IsNullOrWhiteSpace(Plan) ? null : Plan.Trim(),
            ["weight"] = PlanInput.Value(Weight),
            ["priority"] = PlanInput.Value(Priority),
            ["max_priority"] = PlanInput.Value(MaxPriority),
        };
        var problems = Switchboard.Users.Plans.Problems(changes, Switchboard.Users.Plans.UserFields);
        return (changes, FieldErrors.From(problems, [.. changes.Keys]));
    }
}
