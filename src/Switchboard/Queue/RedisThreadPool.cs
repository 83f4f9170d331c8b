namespace Switchboard.Queue;

/// <summary>
/// StackExchange.Redis 3.x holds thread-pool threads for up to about a second after a
/// connection opens (measured here: right after ConnectAsync returned, Task.Delay(20) fired
/// 0.5–0.9 s late on a 2-core machine). With the default minimum of one pool thread per core,
/// the pool then adds threads only about twice a second, and every timer in the process is
/// late meanwhile: lease renewals miss their deadline, a standby takes over late. A higher
/// minimum lets the pool start threads at once instead.
/// </summary>
internal static class RedisThreadPool
{
    public static void EnsureHeadroom()
    {
        var wanted = Math.Max(32, Environment.ProcessorCount * 4);
        ThreadPool.GetMinThreads(out var worker, out var io);
        if (worker < wanted)
        {
            ThreadPool.SetMinThreads(wanted, io);
        }
    }
}
