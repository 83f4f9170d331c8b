using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Catalog;
using Switchboard.Lifecycle;
using Switchboard.Storage;

namespace Switchboard.Deals;

/// <summary>
/// Builds a pipeline step's input when it is claimed, from its predecessors' results by
/// reference (<see cref="StepOutputs"/>). What an item passes on: <c>none</c> and
/// <c>overwrite</c> its own results, <c>extend</c> what it received followed by its own,
/// <c>pass_through</c> what it received. So the data a step receives is the own results of a run
/// of steps before it, found by walking back from the step just before.
/// </summary>
public sealed class StepInputs(Store store, StepOutputs outputs) : IStepInputs
{
    /// <summary>Null when the data is not there (which only a hand-edited store could cause): the step then fails.</summary>
    public async Task<StepInput?> ResolveAsync(ClaimedJob job)
    {
        var modes = new SortedDictionary<int, (string Id, string Pipeline)>();
        string? inputsJson = null;
        // One connection for the plan and, where Redis has no copy, the results.
        using var connection = store.Open();
        using (var command = connection.Sql(
            "SELECT step, id, pipeline, inputs FROM requests WHERE parent = @deal AND run = @run AND step <= @step ORDER BY step",
            ("@deal", job.Parent), ("@run", job.Run), ("@step", job.Step)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                modes[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
                inputsJson = reader.GetString(3);
            }
        }
        var sources = Sources(modes, job.Step!.Value);
        if (sources is null || inputsJson is null || !PromptTemplate.TryParse(job.Prompt, out var template, out _))
        {
            return null;
        }
        var stored = await outputs.LoadAsync(sources, job.Run, connection);
        var input = new List<JsonNode>();
        foreach (var id in sources)
        {
            if (!stored.TryGetValue(id, out var json) || JsonNode.Parse(json) is not JsonArray results)
            {
                return null;
            }
            input.AddRange(results.OfType<JsonNode>().Select(r => r.DeepClone()));
        }
        var values = Values(inputsJson);
        values[Pipeline.InputVariable] = string.Join("\n\n", input.Select(Text));
        return new StepInput(template.Render(values), input);
    }

    /// <summary>The steps whose own results make up what step <paramref name="step"/> receives, in order.</summary>
    public static List<string>? Sources(IReadOnlyDictionary<int, (string Id, string Pipeline)> steps, int step)
    {
        var sources = new List<string>();
        for (var j = step - 1; j >= 0; j--)
        {
            if (!steps.TryGetValue(j, out var s))
            {
                return null;
            }
            if (s.Pipeline != Pipeline.PassThrough)
            {
                sources.Insert(0, s.Id);
            }
            if (s.Pipeline is Pipeline.None or Pipeline.Overwrite)
            {
                return sources;
            }
        }
        return null;
    }

    /// <summary>
    /// A result as template text: a string as it is, a binary result's <c>url</c> (its bytes reach
    /// the handler through <c>HandlerContext.ReadBinaryAsync</c>), an object's <c>text</c> when it
    /// has one, else its JSON.
    /// </summary>
    public static string Text(JsonNode node) => node switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonObject o when Handlers.BinaryReference.Sha256Of(o) is not null && o["url"] is JsonValue u && u.GetValueKind() == JsonValueKind.String
            => u.GetValue<string>(),
        JsonObject o when o["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String => t.GetValue<string>(),
        _ => node.ToJsonString(),
    };

    private static Dictionary<string, string> Values(string inputsJson)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(inputsJson);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            values[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
        }
        return values;
    }
}
