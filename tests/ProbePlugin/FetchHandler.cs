using Switchboard.Handlers;

namespace ProbePlugin;

/// <summary>
/// <c>probe.fetch</c>: GETs <c>{base_url}/hello</c> (<c>svc_handlers.probe.base_url</c>) with the
/// HttpClient the host gave its constructor, and returns the answer's text. <c>mode.txt</c> beside
/// the assembly: <c>throw</c> (the constructor throws), <c>bad-id</c> (the id is not lowercase).
/// </summary>
public sealed class FetchHandler : IServiceHandler
{
    private readonly HttpClient _http;
    private readonly string _mode;

    public FetchHandler(HttpClient http)
    {
        _http = http;
        var modeFile = Path.Combine(Path.GetDirectoryName(typeof(FetchHandler).Assembly.Location)!, "mode.txt");
        _mode = File.Exists(modeFile) ? File.ReadAllText(modeFile).Trim() : "";
        if (_mode == "throw")
        {
            throw new InvalidOperationException("the probe was told to fail");
        }
    }

    public string Id => _mode == "bad-id" ? "Probe.Fetch" : "probe.fetch";

    public async Task ExecuteAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        var baseUrl = context.Settings.GetString("base_url")
            ?? throw HandlerException.Permanent("handler_misconfigured", "svc_handlers.probe.base_url is not set");
        try
        {
            context.AddResult(await _http.GetStringAsync($"{baseUrl}/hello", cancellationToken));
        }
        catch (HttpRequestException)
        {
            throw HandlerException.Permanent("probe_unreachable", "the probe's upstream could not be reached");
        }
    }
}
