using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Config;
using Switchboard.Handlers;
using Switchboard.Lifecycle;

namespace Switchboard.Execution;

/// <summary>
/// The <c>api</c> config's caps on what a handler hands back, checked before anything is stored:
/// one result as JSON or a binary result's bytes (<c>max_result_bytes</c>), all of a request's
/// results (<c>max_results_bytes</c>), and a pipeline step's input, which joins earlier results and so
/// is held to the same total (otherwise each <c>create_qty</c> step multiplies it).
/// </summary>
public static class ResultCaps
{
    public const string ResultTooLargeCode = "result_too_large";
    public const string InputTooLargeCode = "step_input_too_large";

    /// <summary>
    /// The failure when a result or the results are over their caps; null when they fit. A binary
    /// result counts its bytes (as stored, not as base64): one against <c>max_result_bytes</c>, and
    /// with the JSON of the others against <c>max_results_bytes</c>.
    /// </summary>
    public static HandlerException? ResultsTooLarge(IReadOnlyList<JsonNode> results, string resultsJson, IReadOnlyList<BinaryResult> binaries, ApiConfig caps)
    {
        var binaryBytes = 0L;
        foreach (var binary in binaries)
        {
            if (binary.Content.Length > caps.MaxResultBytes)
            {
                return HandlerException.Permanent(ResultTooLargeCode, $"a binary result is larger than {caps.MaxResultBytes} bytes (api config max_result_bytes)");
            }
            binaryBytes += binary.Content.Length;
        }
        if (Encoding.UTF8.GetByteCount(resultsJson) + binaryBytes > caps.MaxResultsBytes)
        {
            return HandlerException.Permanent(ResultTooLargeCode, $"the results are larger than {caps.MaxResultsBytes} bytes (api config max_results_bytes)");
        }
        foreach (var result in results)
        {
            if (Encoding.UTF8.GetByteCount(result.ToJsonString()) > caps.MaxResultBytes)
            {
                return HandlerException.Permanent(ResultTooLargeCode, $"a result is larger than {caps.MaxResultBytes} bytes (api config max_result_bytes)");
            }
        }
        return null;
    }

    /// <summary>The failure when a step's rendered prompt or its input data is over <c>max_results_bytes</c>; null when they fit.</summary>
    public static HandlerException? InputTooLarge(StepInput input, ApiConfig caps)
    {
        // The prompt holds the input as text when its template uses {input}; the list holds it as data.
        var bytes = Math.Max(Encoding.UTF8.GetByteCount(input.Prompt), input.Input.Sum(n => (long)Encoding.UTF8.GetByteCount(n.ToJsonString())));
        return bytes > caps.MaxResultsBytes
            ? HandlerException.Permanent(InputTooLargeCode, $"the input passed to this step is larger than {caps.MaxResultsBytes} bytes (api config max_results_bytes)")
            : null;
    }
}
