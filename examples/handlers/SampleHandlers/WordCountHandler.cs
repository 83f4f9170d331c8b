using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Switchboard.Handlers;

namespace SampleHandlers;

/// <summary>
/// <c>sample.wordcount</c>: counts the words of the prompt, the ones at least
/// <c>params.min_length</c> letters long (default 1). Each result is
/// <c>{words, distinct, longest}</c>; usage counts the words read. Calls nothing outside.
/// </summary>
public sealed class WordCountHandler : IServiceHandler
{
    public string Id => "sample.wordcount";

    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters)
    {
        if (parameters["min_length"] is { } value
            && !(value is JsonValue v && v.TryGetValue<long>(out var n) && n is >= 1 and <= 100))
        {
            yield return ("min_length", "must be a whole number from 1 to 100");
        }
    }

    public Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var minLength = context.Params.GetLong("min_length") ?? 1;
        var words = Words(context.Prompt).Where(w => w.Length >= minLength).ToList();
        var result = new JsonObject
        {
            ["words"] = words.Count,
            ["distinct"] = words.Distinct(StringComparer.OrdinalIgnoreCase).Count(),
            ["longest"] = words.OrderByDescending(w => w.Length).ThenBy(w => w, StringComparer.Ordinal).FirstOrDefault(),
        };
        for (var i = 0; i < context.Quantity; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            context.AddResult(result.DeepClone());
            context.ReportProgress((i + 1) / (double)context.Quantity, $"{i + 1} of {context.Quantity} counted");
        }
        context.RecordUsage("words", words.Count);
        context.Logger.LogDebug("Counted {Words} words", words.Count);
        return Task.CompletedTask;
    }

    /// <summary>Runs of letters, digits and apostrophes.</summary>
    public static IEnumerable<string> Words(string text)
    {
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '\'');
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                yield return text[start..i];
                start = -1;
            }
        }
    }
}
