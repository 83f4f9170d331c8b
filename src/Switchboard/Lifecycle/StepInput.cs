using System.Text.Json.Nodes;

namespace Switchboard.Lifecycle;

/// <summary>What a pipeline step runs on: its prompt with <c>{input}</c> filled in, and the same data as a list of results.</summary>
public sealed record StepInput(string Prompt, IReadOnlyList<JsonNode> Input);

/// <summary>
/// A pipeline step's input, built when it is claimed from the results of the steps before it.
/// The executor asks for it through this interface; the Deals feature answers (its
/// <c>StepInputs</c>), so the executor does not know how deals pass data.
/// </summary>
public interface IStepInputs
{
    /// <summary>Null when the data is not there (which only a hand-edited store could cause): the step then fails.</summary>
    Task<StepInput?> ResolveAsync(ClaimedJob job);
}
