using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Backup;

/// <summary>The backup tests' load: clients submitting to a real server while a backup is taken.</summary>
public static class SteadyLoad
{
    /// <summary>work/slow at 2 credits: slower to run than to submit, so the queue is long while the backup runs.</summary>
    public static readonly string Catalog = TestCatalogs.OnEchoRender("""
        offers:
          - {service: work, action: slow, handler: echo.render, price: 2, prompt_template: "Work on {n}", create_qty: 1, params: {delay_ms: 150}}
        """);

    /// <summary>One client submitting work/slow every 25 ms or so until <paramref name="stop"/>.</summary>
    public static async Task Submit(HttpClient client, int clientNumber, CancellationToken stop)
    {
        using (client)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    await client.SubmitAsync("/svc/work/slow/", new { n = (clientNumber * 1_000_000) + n });
                    // A steady load (about 150 requests a second in all), not a flood the restored serve needs minutes to finish.
                    await Task.Delay(25, stop);
                }
                catch (TaskCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }
}
