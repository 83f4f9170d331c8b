namespace Switchboard.Handlers;

/// <summary>
/// <c>echo.render</c>: returns the rendered prompt, once per result, suffixed with its index
/// (" #1", " #2", ...). For tests, demos and benchmarks: <c>delay_ms</c> waits, <c>fail_times</c>
/// fails transiently on the first N attempts, <c>fail</c> fails permanently (its string, if any,
/// is the message). <c>result_bytes: N</c> makes each result N deterministic bytes instead (a
/// binary result of <c>media_type</c>, default <c>application/octet-stream</c>; the same prompt
/// and index give the same bytes), for tests and the benchmark of the binary path without a
/// network. <c>describe_input: true</c> reads the step's binary inputs through the context and
/// returns, per result, <c>"sha256 bytes media_type"</c> of each (computed from the bytes read),
/// joined by ", ". <c>progress_steps: N</c> reports progress N times spread across
/// <c>delay_ms</c> (message <c>"{progress_message} k/N"</c>), and <c>stream_text</c> streams
/// that text in word pieces across <c>delay_ms</c> (<c>ReportPartial</c>) and returns it as
/// every result's text: the event stream's tests and benchmark without a provider.
/// </summary>
public sealed class EchoRenderHandler : IServiceHandler
{
    public string Id => "echo.render";

    /// <summary>The types of the params it reads; other keys are left alone (tests and demos carry their own).</summary>
    public IEnumerable<(string Key, string Problem)> CheckParams(JsonObject parameters)
    {
        var problems = new List<(string, string)>();
        ParamChecks.Integer(parameters, "delay_ms", 0, long.MaxValue, problems);
        ParamChecks.Integer(parameters, "fail_times", 0, long.MaxValue, problems);
        ParamChecks.Integer(parameters, "result_bytes", 0, int.MaxValue, problems);
        ParamChecks.Integer(parameters, "progress_steps", 0, MaxTicks, problems);
        ParamChecks.String(parameters, "progress_message", problems);
        ParamChecks.String(parameters, "stream_text", problems);
        if (parameters["media_type"] is { } mediaType && mediaType.GetValueKind() != System.Text.Json.JsonValueKind.String)
        {
            problems.Add(("media_type", "must be a string"));
        }
        if (parameters["fail"] is JsonValue fail && fail.GetValueKind() is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False or System.Text.Json.JsonValueKind.String))
        {
            problems.Add(("fail", "must be true, false or a message"));
        }
        return problems;
    }

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var delay = context.Params.GetLong("delay_ms") ?? 0;
        var streamText = context.Params.GetString("stream_text");
        await Wait(context, delay, streamText, cancellationToken);
        if (context.Params.IsSet("fail"))
        {
            var message = context.Params["fail"]?.GetValueKind() == System.Text.Json.JsonValueKind.String
                ? context.Params.GetString("fail")!
                : "echo.render was told to fail";
            throw HandlerException.Permanent("echo_failed", message);
        }
        if (context.Attempt <= (context.Params.GetLong("fail_times") ?? 0))
        {
            throw HandlerException.Retry("echo_transient", $"echo.render transient failure on attempt {context.Attempt}");
        }
        var text = streamText ?? context.Prompt;
        if (context.Params.IsSet("describe_input"))
        {
            var described = new List<string>();
            foreach (var reference in context.Input.Where(r => BinaryReference.Sha256Of(r) is not null))
            {
                var blob = await context.ReadBinaryAsync(reference, cancellationToken);
                described.Add($"{blob.Sha256} {blob.Content.Length} {blob.MediaType}");
            }
            text = string.Join(", ", described);
        }
        var binaryBytes = context.Params.GetLong("result_bytes");
        if (binaryBytes is < 0 or > int.MaxValue)
        {
            throw HandlerException.Permanent("invalid_params", "params.result_bytes must be between 0 and 2147483647");
        }
        for (var i = 1; i <= context.Quantity; i++)
        {
            if (binaryBytes is { } size)
            {
                // xorshift32 seeded by the text's FNV-1a hash and the index: the same in every
                // process (string.GetHashCode is not), and fast enough for megabytes.
                var state = 2166136261u;
                foreach (var c in text)
                {
                    state = (state ^ c) * 16777619u;
                }
                state = (state ^ (uint)i) | 1u;
                var bytes = new byte[size];
                for (var k = 0; k < bytes.Length; k++)
                {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    bytes[k] = (byte)state;
                }
                context.AddResult(new BinaryResult(bytes, context.Params.GetString("media_type") ?? "application/octet-stream"));
            }
            else
            {
                context.AddResult($"{text} #{i}");
            }
        }
    }

    /// <summary>Progress reports and streamed pieces at most, so a big number cannot make a busy loop.</summary>
    private const int MaxTicks = 10_000;

    /// <summary>
    /// Waits <paramref name="delay"/> in as many equal slices as there are progress reports or
    /// pieces of <paramref name="streamText"/> (words with their trailing space), reporting each
    /// at the end of its slice; one wait when there are neither.
    /// </summary>
    private static async Task Wait(HandlerContext context, long delay, string? streamText, CancellationToken cancellationToken)
    {
        var steps = (int)Math.Clamp(context.Params.GetLong("progress_steps") ?? 0, 0, MaxTicks);
        string[] pieces = streamText is null ? [] : [.. System.Text.RegularExpressions.Regex.Matches(streamText, @"\S*\s*").Select(m => m.Value).Where(p => p.Length > 0)];
        var ticks = Math.Min(MaxTicks, Math.Max(1, Math.Max(steps, pieces.Length)));
        var message = context.Params.GetString("progress_message") ?? "step";
        for (var k = 1; k <= ticks; k++)
        {
            if (delay > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds((double)delay / ticks), cancellationToken);
            }
            if (steps > 0 && (long)k * steps / ticks > (long)(k - 1) * steps / ticks)
            {
                var done = (int)((long)k * steps / ticks);
                context.ReportProgress((double)done / steps, $"{message} {done}/{steps}");
            }
            var from = (int)((long)(k - 1) * pieces.Length / ticks);
            var to = k == ticks ? pieces.Length : (int)((long)k * pieces.Length / ticks);
            for (var i = from; i < to; i++)
            {
                context.ReportPartial(pieces[i]);
            }
        }
    }
}
