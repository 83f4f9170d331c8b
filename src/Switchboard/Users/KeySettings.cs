using System.Globalization;
using System.Text.Json;

namespace Switchboard.Users;

/// <summary>
/// What a new key is given: a name, scopes, rpm, concurrency, a budget per period and an expiry
/// (epoch ms). Null fields are unlimited here; the key's user's plan may still set defaults for
/// rpm, concurrency and budget (<see cref="ApiKeyCache"/> resolves them). One set of rules for the
/// CLI, the admin API, the panel and <c>/svc/me/keys</c>.
/// </summary>
public sealed record KeySettings(
    string? Name = null, IReadOnlyList<string>? Scopes = null, int? Rpm = null, int? MaxConcurrent = null,
    long? Budget = null, string? BudgetPeriod = null, long? ExpiresAt = null)
{
    public const int MaxNameChars = 100;

    public static readonly KeySettings Unlimited = new();

    /// <summary>The fields of a key's JSON body, for unknown-field messages.</summary>
    public static readonly IReadOnlyList<string> Fields = ["name", "scopes", "rpm", "max_concurrent", "budget", "budget_period", "expires"];

    /// <summary>Every rule broken, empty when none: ranges, scopes' characters, a budget with its period.</summary>
    public List<string> Problems(long now)
    {
        var errors = new List<string>();
        if (Name is { Length: > MaxNameChars } || (Name is not null && Name.Any(char.IsControl)))
        {
            errors.Add($"name has at most {MaxNameChars} characters, none of them control characters");
        }
        if (Scopes is not null)
        {
            if (Scopes.Count is 0 or > KeyScopes.MaxScopes)
            {
                errors.Add($"scopes lists 1 to {KeyScopes.MaxScopes} globs (leave it out for all)");
            }
            errors.AddRange(Scopes.Select(KeyScopes.Problem).OfType<string>());
        }
        if (Rpm is < 1 or > 1_000_000)
        {
            errors.Add("rpm is 1 to 1000000");
        }
        if (MaxConcurrent is < 1 or > 1_000_000)
        {
            errors.Add("max_concurrent is 1 to 1000000");
        }
        if (Budget is < 0)
        {
            errors.Add("budget is 0 or more credits");
        }
        if (BudgetPeriod is not null && !KeyCharges.Periods.Contains(BudgetPeriod))
        {
            errors.Add("budget_period is day, month or total");
        }
        if (BudgetPeriod is not null && Budget is null)
        {
            errors.Add("budget_period needs a budget");
        }
        if (ExpiresAt is { } at && at <= now)
        {
            errors.Add("expires must be in the future");
        }
        return errors;
    }

    /// <summary>
    /// Every limit of this child at most its parent's (<paramref name="parent"/> resolved, as the
    /// cache holds it): scopes inside, each number at most the parent's, the budget in the same
    /// period, the expiry no later. An unlimited parent allows anything. Empty when it fits.
    /// </summary>
    public List<string> Exceeds(KeyLimits parent)
    {
        var errors = new List<string>();
        if (!KeyScopes.Within(Scopes, parent.Scopes))
        {
            errors.Add("scopes must fall inside the calling key's scopes: " + string.Join(", ", parent.Scopes ?? []));
        }
        if (parent.Rpm is { } rpm && (Rpm is null || Rpm > rpm))
        {
            errors.Add($"rpm must be at most the calling key's {rpm}");
        }
        if (parent.MaxConcurrent is { } max && (MaxConcurrent is null || MaxConcurrent > max))
        {
            errors.Add($"max_concurrent must be at most the calling key's {max}");
        }
        if (parent.Budget is { } budget)
        {
            var period = parent.BudgetPeriod ?? KeyCharges.Total;
            if (Budget is null || Budget > budget || (BudgetPeriod ?? KeyCharges.Total) != period)
            {
                errors.Add($"budget must be at most the calling key's {budget} per {period}, with budget_period {period}");
            }
        }
        if (parent.ExpiresAtMs is { } until && (ExpiresAt is null || ExpiresAt > until))
        {
            errors.Add($"expires must be no later than the calling key's {Clock.Iso(until)}");
        }
        return errors;
    }

    /// <summary>
    /// An expiry as the CLI and the APIs take it: a duration from now (<c>90m</c>, <c>12h</c>,
    /// <c>30d</c>) or a UTC date or date-time (ISO 8601). Null when it is neither.
    /// </summary>
    public static long? ParseExpiry(string text, long now)
    {
        text = text.Trim();
        if (text.Length >= 2 && long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n < 100_000)
        {
            long? unit = text[^1] switch { 'm' => 60_000L, 'h' => 3_600_000L, 'd' => 86_400_000L, _ => null };
            if (unit is { } ms)
            {
                return now + (n * ms);
            }
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at.ToUnixTimeMilliseconds()
            : null;
    }

    /// <summary>Reads a key's JSON body (admin API, <c>/svc/me/keys</c>); problems go to <paramref name="errors"/>.</summary>
    public static KeySettings Read(JsonObject body, long now, List<string> errors)
    {
        errors.AddRange(body.Select(p => p.Key).Where(k => !Fields.Contains(k))
            .Select(k => $"{k} is not a field of a key ({string.Join(", ", Fields)})"));
        string? expiresText = Text(body, "expires", errors);
        long? expires = null;
        if (expiresText is not null && (expires = ParseExpiry(expiresText, now)) is null)
        {
            errors.Add("expires is a duration (90m, 12h, 30d) or an ISO 8601 date");
        }
        IReadOnlyList<string>? scopes = null;
        if (body["scopes"] is { } s)
        {
            if (s is JsonArray array && array.All(e => e?.GetValueKind() == JsonValueKind.String))
            {
                scopes = [.. array.Select(e => e!.GetValue<string>())];
            }
            else
            {
                errors.Add("scopes must be an array of strings");
            }
        }
        return new KeySettings(
            Text(body, "name", errors), scopes, (int?)Number(body, "rpm", int.MaxValue, errors), (int?)Number(body, "max_concurrent", int.MaxValue, errors),
            Number(body, "budget", long.MaxValue, errors), Text(body, "budget_period", errors), expires);
    }

    private static string? Text(JsonObject body, string field, List<string> errors)
    {
        if (body[field] is not { } node)
        {
            return null;
        }
        if (node.GetValueKind() == JsonValueKind.String)
        {
            try
            {
                return node.GetValue<string>();
            }
            catch (InvalidOperationException)
            {
                // An escaped lone surrogate parses as JSON but is not text.
            }
        }
        errors.Add($"{field} must be a string");
        return null;
    }

    private static long? Number(JsonObject body, string field, long max, List<string> errors)
    {
        if (body[field] is not { } node)
        {
            return null;
        }
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue(out long n) && n <= max)
        {
            return n;
        }
        errors.Add($"{field} must be a whole number");
        return null;
    }

    /// <summary>The limits as the key's row holds them (its own, without its plan's defaults).</summary>
    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["scopes"] = Scopes is null ? null : new JsonArray([.. Scopes.Select(s => (JsonNode)s)]),
        ["rpm"] = Rpm,
        ["max_concurrent"] = MaxConcurrent,
        ["budget"] = Budget,
        ["budget_period"] = Budget is null ? null : BudgetPeriod ?? KeyCharges.Total,
        ["expires_at"] = Clock.Iso(ExpiresAt),
    };
}
