using System.Globalization;
using Switchboard.Users;

namespace Switchboard.Admin.Panel.Components.Pages.Plans;

/// <summary>
/// The plan form's inputs as posted (text), turned into the change <see cref="Switchboard.Users.Plans"/>
/// takes: an empty input clears its setting (null), a number is a number, anything else is kept as
/// text so that <see cref="Switchboard.Users.Plans.Problems"/> refuses it with the API's message.
/// </summary>
public sealed class PlanInput
{
    /// <summary>The plan's settings, as its input names (and the API's fields).</summary>
    public static readonly IReadOnlyList<string> Settings = [.. Switchboard.Users.Plans.PlanFields.Select(f => f.Name)];

    public string? Name { get; set; }
    public string? Weight { get; set; }
    public string? Priority { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "max_priority")] public string? MaxPriority { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "key_rpm")] public string? KeyRpm { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "key_max_concurrent")] public string? KeyMaxConcurrent { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "key_budget")] public string? KeyBudget { get; set; }
    [System.Runtime.Serialization.DataMember(Name = "key_budget_period")] public string? KeyBudgetPeriod { get; set; }

    public static PlanInput Of(Plan p) => new()
    {
        Name = p.Name, Weight = Text(p.Weight), Priority = Text(p.Priority), MaxPriority = Text(p.MaxPriority), KeyRpm = Text(p.KeyRpm),
        KeyMaxConcurrent = Text(p.KeyMaxConcurrent), KeyBudget = Text(p.KeyBudget), KeyBudgetPeriod = p.KeyBudgetPeriod,
    };

    /// <summary>The input named <paramref name="setting"/> (one of <see cref="Settings"/>).</summary>
    public string? this[string setting] => setting switch
    {
        "weight" => Weight, "priority" => Priority, "max_priority" => MaxPriority, "key_rpm" => KeyRpm,
        "key_max_concurrent" => KeyMaxConcurrent, "key_budget" => KeyBudget, "key_budget_period" => KeyBudgetPeriod, _ => null,
    };

    /// <summary>Every setting as a change (empty: cleared), and the errors of <see cref="Switchboard.Users.Plans.PlanFields"/> by input (null: none).</summary>
    public (Dictionary<string, object?> Changes, FieldErrors? Errors) Read()
    {
        var changes = Settings.ToDictionary(s => s, s => Value(this[s]), StringComparer.Ordinal);
        return (changes, FieldErrors.From(Switchboard.Users.Plans.Problems(changes, Switchboard.Users.Plans.PlanFields), Settings));
    }

    /// <summary>An input as the change holds it: null when empty, a number when it reads as one, else its text (refused by the field's rule).</summary>
    public static object? Value(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null
        : long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n
        : text.Trim();

    private static string? Text(long? n) => n?.ToString(CultureInfo.InvariantCulture);
}
