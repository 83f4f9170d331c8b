using Switchboard.Handlers;

namespace Switchboard.Config;

/// <summary>
/// The <c>api</c> config: limits and defaults the API and executors apply, live. Unset keys
/// fall back to the process settings (<see cref="SwitchboardOptions"/>). Other keys are left
/// alone: the original system's <c>api</c> config carries settings of its own.
/// The three byte caps bound what upstreams hand back, for every handler: what is read from one
/// upstream answer (<c>max_upstream_bytes</c>), one result as stored JSON (<c>max_result_bytes</c>)
/// and all of a request's results, which is also the bound of a pipeline step's input
/// (<c>max_results_bytes</c>). Over a cap the job fails with a code and is refunded.
/// </summary>
public sealed record ApiConfig(
    int MaxBodyBytes, int MaxValueChars, int MaxAttempts, double JobTimeoutSeconds,
    long MaxUpstreamBytes = ApiConfig.DefaultMaxUpstreamBytes, long MaxResultBytes = ApiConfig.DefaultMaxResultBytes,
    long MaxResultsBytes = ApiConfig.DefaultMaxResultsBytes)
{
    public const string Id = "api";

    public const long DefaultMaxUpstreamBytes = UpstreamBody.DefaultMaxBytes;
    public const long DefaultMaxResultBytes = 4 * 1024 * 1024;
    public const long DefaultMaxResultsBytes = 16 * 1024 * 1024;
    private const long MaxCap = 1024L * 1024 * 1024;

    /// <summary>A handler's time limit when its offer's params give no <c>timeout_s</c>.</summary>
    public const double DefaultJobTimeoutSeconds = 120;

    public static ApiConfig Defaults(SwitchboardOptions options) =>
        new(options.MaxBodyBytes, options.MaxValueChars, options.MaxAttempts, DefaultJobTimeoutSeconds);

    public static ApiConfig Read(JsonObject values, SwitchboardOptions options, List<string> errors)
    {
        var read = new ConfigValues(values, Id, errors);
        var defaults = Defaults(options);
        return new ApiConfig(
            (int?)read.Long("max_body_bytes", 256, 64 * 1024 * 1024) ?? defaults.MaxBodyBytes,
            (int?)read.Long("max_value_chars", 1, 64 * 1024 * 1024) ?? defaults.MaxValueChars,
            (int?)read.Long("max_attempts", 1, 100) ?? defaults.MaxAttempts,
            read.Long("job_timeout_s", 1, 86_400) ?? defaults.JobTimeoutSeconds,
            read.Long("max_upstream_bytes", 1024, MaxCap) ?? DefaultMaxUpstreamBytes,
            read.Long("max_result_bytes", 16, MaxCap) ?? DefaultMaxResultBytes,
            read.Long("max_results_bytes", 16, MaxCap) ?? DefaultMaxResultsBytes);
    }
}
