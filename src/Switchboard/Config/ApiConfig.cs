using System.Text.Json.Nodes;
using Switchboard.Hosting;

namespace Switchboard.Config;

/// <summary>
/// The <c>api</c> config: limits and defaults the API and executors apply, live. Unset keys
/// fall back to the process settings (<see cref="SwitchboardOptions"/>). Other keys are left
/// alone: the original system's <c>api</c> config carries settings of its own.
/// </summary>
public sealed record ApiConfig(int MaxBodyBytes, int MaxValueChars, int MaxAttempts, double JobTimeoutSeconds)
{
    public const string Id = "api";

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
            read.Long("job_timeout_s", 1, 86_400) ?? defaults.JobTimeoutSeconds);
    }
}
