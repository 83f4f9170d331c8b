using System.Net;
using System.Text.Json.Nodes;

namespace Switchboard.Tests.Health;

/// <summary>Reads <c>/healthz</c> and <c>/readyz</c>, and waits (bounded) for an answer that satisfies a condition.</summary>
internal static class HealthJson
{
    public static async Task<(HttpStatusCode Status, JsonObject Body)> Get(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    public static Task<(HttpStatusCode Status, JsonObject Body)> WaitFor(
        HttpClient client, string path, Func<HttpStatusCode, JsonObject, bool> condition, TimeSpan timeout) =>
        Wait.For(() => Get(client, path), answer => condition(answer.Status, answer.Body), timeout, $"{path} to match", TimeSpan.FromMilliseconds(100));

    public static JsonObject Component(JsonObject body, string name) => (JsonObject)body["components"]![name]!;

    public static string Status(JsonObject node) => node["status"]!.GetValue<string>();
}
