using System.CommandLine;
using System.Globalization;
using Switchboard.Users;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>plans add|set|list|remove</c>: named defaults users are given (scheduling weight, priority,
/// highest priority, key limits). Also the settings options <c>users set</c> shares
/// (<see cref="SettingOptions"/>): each takes a value or <c>none</c> (clears it).
/// </summary>
public sealed class PlansCommand : Command
{
    public PlansCommand(CliContext context) : base("plans", "Plans: a user's defaults for scheduling weight, priority and key limits")
    {
        Add(Change("add", "Adds a plan (printed as JSON)", context, (c, name, changes) => Plans.Add(c, name, changes)));
        Add(Change("set", "Changes a plan's settings ('none' clears one)", context, (c, name, changes) => Plans.Set(c, name, changes)));
        Add(new StoreCommand("list", "Lists the plans, one JSON line each (with how many users each has)", context, (_, s) =>
        {
            using var connection = s.Store.Open();
            foreach (var plan in Plans.List(connection))
            {
                context.Output.WriteLine(plan.ToJson().ToJsonString());
            }
            return 0;
        })
        {
            Recorded = StoreCommand.OnlyReads,
        });
        var removed = new Argument<string>("name") { Description = "The plan's name" };
        Add(new StoreCommand("remove", "Removes a plan that no user has", context, (parse, s) =>
        {
            var name = parse.GetValue(removed)!;
            try
            {
                if (!s.Store.Write(c => Plans.Remove(c, name)))
                {
                    context.Error.WriteLine($"no plan named '{name}'");
                    return 1;
                }
            }
            catch (PlanInUseException ex)
            {
                context.Error.WriteLine(ex.Message);
                return 1;
            }
            context.Output.WriteLine(new JsonObject { ["name"] = name, ["removed"] = true }.ToJsonString());
            return 0;
        })
        {
            removed,
        });
    }

    private static StoreCommand Change(string verb, string description, CliContext context, Func<System.Data.Common.DbConnection, string, Dictionary<string, object?>, Plan?> run)
    {
        var name = new Argument<string>("name") { Description = "The plan's name (the user names' rule)" };
        var options = SettingOptions(Plans.PlanFields);
        var command = new StoreCommand(verb, description, context, (parse, s) =>
        {
            var plan = parse.GetValue(name)!;
            if (Plans.NameProblem(plan) is { } problem)
            {
                throw new UsageException(problem);
            }
            var changes = Read(parse, options, Plans.PlanFields);
            try
            {
                if (s.Store.Write(c => run(c, plan, changes)) is not { } done)
                {
                    context.Error.WriteLine($"no plan named '{plan}'");
                    return 1;
                }
                context.Output.WriteLine(done.ToJson().ToJsonString());
                return 0;
            }
            catch (PlanExistsException ex)
            {
                context.Error.WriteLine(ex.Message);
                return 1;
            }
        })
        {
            name,
        };
        foreach (var option in options)
        {
            command.Add(option);
        }
        return command;
    }

    /// <summary>One <c>--field</c> option per setting (<c>key_rpm</c> → <c>--key-rpm</c>), each a value or <c>none</c>.</summary>
    internal static List<Option<string?>> SettingOptions(IReadOnlyList<Plans.Field> fields) =>
    [
        .. fields.Select(f => new Option<string?>("--" + f.Name.Replace('_', '-'))
        {
            Description = (f.Values is null ? $"{f.Min} to {f.Max}" : f.Values.Count == 0 ? "a plan's name" : string.Join(", ", f.Values)) + "; none clears it",
            HelpName = f.Values is null ? "N" : "V",
        }),
    ];

    /// <summary>The options given, as a change (<c>none</c>: null); <see cref="UsageException"/> with every problem.</summary>
    internal static Dictionary<string, object?> Read(ParseResult parse, List<Option<string?>> options, IReadOnlyList<Plans.Field> fields)
    {
        var changes = new Dictionary<string, object?>(StringComparer.Ordinal);
        var errors = new List<string>();
        for (var i = 0; i < fields.Count; i++)
        {
            if (parse.GetValue(options[i]) is not { } text)
            {
                continue;
            }
            var field = fields[i];
            if (text == "none")
            {
                changes[field.Name] = null;
            }
            else if (field.Values is not null)
            {
                changes[field.Name] = text;
            }
            else if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            {
                changes[field.Name] = n;
            }
            else
            {
                errors.Add($"--{field.Name.Replace('_', '-')} is a whole number or none");
            }
        }
        errors.AddRange(Plans.Problems(changes, fields));
        return errors.Count > 0 ? throw new UsageException(string.Join("; ", errors)) : changes;
    }
}
