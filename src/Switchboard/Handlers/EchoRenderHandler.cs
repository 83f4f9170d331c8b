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
/// joined by ", ".
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
        if (delay > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(delay), cancellationToken);
        }
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
        var text = context.Prompt;
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
}
