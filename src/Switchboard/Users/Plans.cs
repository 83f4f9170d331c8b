using System.Data.Common;

namespace Switchboard.Users;

/// <summary>A plan: named defaults its users are given (a user's own non-null settings win).</summary>
public sealed record Plan(
    string Name, int? Weight, int? Priority, int? MaxPriority, int? KeyRpm, int? KeyMaxConcurrent, long? KeyBudget, string? KeyBudgetPeriod,
    long CreatedAt, long UpdatedAt, int Users)
{
    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["weight"] = Weight,
        ["priority"] = Priority,
        ["max_priority"] = MaxPriority,
        ["key_rpm"] = KeyRpm,
        ["key_max_concurrent"] = KeyMaxConcurrent,
        ["key_budget"] = KeyBudget,
        ["key_budget_period"] = KeyBudget is null ? null : KeyBudgetPeriod ?? KeyCharges.Total,
        ["users"] = Users,
        ["created_at"] = Clock.Iso(CreatedAt),
        ["updated_at"] = Clock.Iso(UpdatedAt),
    };
}

public sealed class PlanExistsException(string name) : ArgumentException($"a plan named '{name}' exists already");

/// <summary>A plan that users still have cannot be removed.</summary>
public sealed class PlanInUseException(string name, long users) : InvalidOperationException($"{users} user(s) are on plan '{name}': move them first")
{
    public long Users { get; } = users;
}

/// <summary>
/// Plans and the scheduling settings of users (the <c>plans</c> table, <c>users.plan, weight,
/// priority, max_priority</c>): one set of rules for the CLI, the admin API and the panel. A
/// change is a map of field → value (null clears it); every field is checked against
/// <see cref="PlanFields"/> or <see cref="UserFields"/>. Each write bumps the auth version, so
/// every process's <see cref="ApiKeyCache"/> drops its callers and resolves them again.
/// </summary>
public static class Plans
{
    /// <summary>A settable field: its column, and its range (numbers) or its values (text).</summary>
    public sealed record Field(string Name, long Min, long Max, IReadOnlyList<string>? Values = null)
    {
        public string? Problem(object? value) => value switch
        {
            null => null,
            long n when Values is null && n >= Min && n <= Max => null,
            string t when Values is not null && (Values.Count == 0 || Values.Contains(t)) => null,
            _ => Values is null ? $"{Name} is a whole number from {Min} to {Max}"
                : Values.Count == 0 ? $"{Name} is a name" : $"{Name} is one of {string.Join(", ", Values)}",
        };
    }

    public static readonly IReadOnlyList<Field> PlanFields =
    [
        new("weight", 1, 1000), new("priority", 0, 9), new("max_priority", 0, 9),
        new("key_rpm", 1, 1_000_000), new("key_max_concurrent", 1, 1_000_000), new("key_budget", 0, long.MaxValue),
        new("key_budget_period", 0, 0, KeyCharges.Periods),
    ];

    /// <summary><c>plan</c>: an existing plan's name (null: none).</summary>
    public static readonly IReadOnlyList<Field> UserFields =
    [
        new("plan", 0, 0, []), new("weight", 1, 1000), new("priority", 0, 9), new("max_priority", 0, 9),
    ];

    /// <summary>Every problem of a change against <paramref name="fields"/>: unknown fields, values out of range.</summary>
    public static List<string> Problems(IReadOnlyDictionary<string, object?> changes, IReadOnlyList<Field> fields)
    {
        var errors = new List<string>();
        foreach (var (name, value) in changes)
        {
            if (fields.FirstOrDefault(f => f.Name == name) is not { } field)
            {
                errors.Add($"{name} is not a setting ({string.Join(", ", fields.Select(f => f.Name))})");
            }
            else if (field.Problem(value) is { } problem)
            {
                errors.Add(problem);
            }
        }
        return errors;
    }

    /// <summary>A plan's name: the user names' rule (safe in a URL segment, a log line, a page).</summary>
    public static string? NameProblem(string? name) => UserNames.Problem(name);

    public static List<Plan> List(DbConnection connection) => Read(connection, null);

    public static Plan? Find(DbConnection connection, string name) => Read(connection, name).FirstOrDefault();

    private static List<Plan> Read(DbConnection connection, string? name)
    {
        using var command = connection.Sql(
            $"""
            SELECT p.name, p.weight, p.priority, p.max_priority, p.key_rpm, p.key_max_concurrent, p.key_budget, p.key_budget_period,
                   p.created_at, p.updated_at, (SELECT COUNT(*) FROM users u WHERE u.plan = p.name)
            FROM plans p {(name is null ? "" : "WHERE p.name = @n")} ORDER BY p.name
            """,
            name is null ? [] : [("@n", name)]);
        using var reader = command.ExecuteReader();
        var list = new List<Plan>();
        while (reader.Read())
        {
            list.Add(new Plan(reader.GetString(0), reader.IntOrNull(1), reader.IntOrNull(2), reader.IntOrNull(3), reader.IntOrNull(4),
                reader.IntOrNull(5), reader.LongOrNull(6), reader.StringOrNull(7), reader.GetInt64(8), reader.GetInt64(9),
                Convert.ToInt32(reader.GetValue(10), System.Globalization.CultureInfo.InvariantCulture)));
        }
        return list;
    }

    /// <summary>Adds a plan with these settings (checked by the caller); <see cref="PlanExistsException"/> when the name is taken.</summary>
    public static Plan Add(DbConnection connection, string name, IReadOnlyDictionary<string, object?> settings)
    {
        if (Find(connection, name) is not null)
        {
            throw new PlanExistsException(name);
        }
        var now = Clock.NowMs();
        connection.Execute("INSERT INTO plans (name, created_at, updated_at) VALUES (@n, @now, @now)", ("@n", name), ("@now", now));
        Update(connection, "plans", "name", name, settings, PlanFields);
        Meta.Bump(connection, Meta.AuthVersion);
        return Find(connection, name)!;
    }

    /// <summary>Changes a plan's settings; null when there is no such plan.</summary>
    public static Plan? Set(DbConnection connection, string name, IReadOnlyDictionary<string, object?> changes)
    {
        if (Find(connection, name) is null)
        {
            return null;
        }
        Update(connection, "plans", "name", name, changes, PlanFields);
        connection.Execute("UPDATE plans SET updated_at = @now WHERE name = @n", ("@n", name), ("@now", Clock.NowMs()));
        Meta.Bump(connection, Meta.AuthVersion);
        return Find(connection, name);
    }

    /// <summary>Removes a plan no user has; false when there is none, <see cref="PlanInUseException"/> when users have it.</summary>
    public static bool Remove(DbConnection connection, string name)
    {
        var users = connection.Scalar<long>("SELECT COUNT(*) FROM users WHERE plan = @n", ("@n", name));
        if (users > 0)
        {
            throw new PlanInUseException(name, users);
        }
        var removed = connection.Execute("DELETE FROM plans WHERE name = @n", ("@n", name)) > 0;
        Meta.Bump(connection, Meta.AuthVersion);
        return removed;
    }

    /// <summary>
    /// Changes a user's scheduling settings (<see cref="UserFields"/>); null when there is no such
    /// user; <see cref="KeyNotFoundException"/> when the plan named does not exist.
    /// </summary>
    public static UserInfo? SetUser(DbConnection connection, string nameOrId, IReadOnlyDictionary<string, object?> changes)
    {
        if (UserStore.Find(connection, nameOrId) is not { } user)
        {
            return null;
        }
        if (changes.TryGetValue("plan", out var plan) && plan is string named && Find(connection, named) is null)
        {
            throw new KeyNotFoundException($"there is no plan '{named}'");
        }
        Update(connection, "users", "id", user.Id, changes, UserFields);
        Meta.Bump(connection, Meta.AuthVersion);
        return user;
    }

    /// <summary>A user's own scheduling settings and its plan (null: not set).</summary>
    public static JsonObject UserSettings(DbConnection connection, string userId)
    {
        using var command = connection.Sql("SELECT plan, weight, priority, max_priority FROM users WHERE id = @u", ("@u", userId));
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new JsonObject
            {
                ["plan"] = reader.StringOrNull(0), ["weight"] = reader.IntOrNull(1), ["priority"] = reader.IntOrNull(2), ["max_priority"] = reader.IntOrNull(3),
            }
            : [];
    }

    // Column names come from the field lists only, never from the caller's text.
    private static void Update(DbConnection connection, string table, string keyColumn, string key, IReadOnlyDictionary<string, object?> changes, IReadOnlyList<Field> fields)
    {
        foreach (var field in fields.Where(f => changes.ContainsKey(f.Name)))
        {
            connection.Execute($"UPDATE {table} SET {field.Name} = @v WHERE {keyColumn} = @k", ("@v", changes[field.Name]), ("@k", key));
        }
    }

    /// <summary>Reads a change from a JSON object: numbers, strings or null (clear); wrong kinds go to <paramref name="errors"/>.</summary>
    public static Dictionary<string, object?> Read(JsonObject body, List<string> errors)
    {
        var changes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, node) in body)
        {
            switch (node?.GetValueKind())
            {
                case null or System.Text.Json.JsonValueKind.Null:
                    changes[name] = null;
                    break;
                case System.Text.Json.JsonValueKind.Number when node.AsValue().TryGetValue(out long n):
                    changes[name] = n;
                    break;
                case System.Text.Json.JsonValueKind.String:
                    try
                    {
                        changes[name] = node.GetValue<string>();
                    }
                    catch (InvalidOperationException)
                    {
                        errors.Add($"{name} must be valid Unicode text");
                    }
                    break;
                default:
                    errors.Add($"{name} must be a whole number, a string or null");
                    break;
            }
        }
        return changes;
    }
}
