using System.Text.Json.Nodes;
using Switchboard.Cli;

namespace Switchboard.Tests.Infrastructure;

/// <summary>Runs the management commands in process, as an operator would from the shell.</summary>
public static class Cli
{
    public static async Task<(int Exit, string Out, string Err)> Run(string dataDir, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CommandLine.RunAsync([.. args, "--data", dataDir], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    public static async Task<JsonObject> Json(string dataDir, params string[] args)
    {
        var (exit, output, error) = await Run(dataDir, args);
        Assert.True(exit == 0, $"switchboard {string.Join(' ', args)} exited {exit}: {error}");
        return (JsonObject)JsonNode.Parse(output)!;
    }

    /// <summary>Creates a user and returns (id, api key).</summary>
    public static async Task<(string Id, string Key)> CreateUser(string dataDir, string name, long credits)
    {
        var user = await Json(dataDir, "users", "create", name, "--credits", credits.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return (user["id"]!.GetValue<string>(), user["api_key"]!.GetValue<string>());
    }

    public static async Task ApplyCatalog(string dataDir, string yaml)
    {
        var file = Path.Combine(dataDir, $"catalog-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (exit, _, error) = await Run(dataDir, "catalog", "apply", file);
        Assert.True(exit == 0, "catalog apply failed: " + error);
    }
}
