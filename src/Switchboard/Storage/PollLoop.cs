namespace Switchboard.Storage;

/// <summary>
/// The loop of a background service that polls (the store, mostly) every interval until the
/// host stops. A round that throws is reported and the next round runs: an outage or a bug in
/// one round must not end the service, whose view would then silently stay as it was.
/// </summary>
public static class PollLoop
{
    public static async Task RunAsync(TimeSpan interval, Action round, Action<Exception> failed, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                round();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed(ex);
            }
        }
    }
}
