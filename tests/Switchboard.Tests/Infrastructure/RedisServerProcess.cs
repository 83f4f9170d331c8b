using System.Diagnostics;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A redis-server of the test's own (Debian's binary, which test.sh installs), on a fixed
/// 127.0.0.1 port, so the test can stop and start it without touching the suite's Redis.
/// No persistence: a restart comes back empty, as a crashed cache server would.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private Process? _process;

    public RedisServerProcess(string dir) => Dir = dir;

    public int Port { get; } = SwitchboardProcess.FreePort();

    public string Dir { get; }

    public string Uri => $"127.0.0.1:{Port}";

    public async Task Start()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", Dir })
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start (test.sh installs it)");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Wait.Until(Listening, TimeSpan.FromSeconds(10), $"redis-server to listen on {Port}", TimeSpan.FromMilliseconds(50));
    }

    private async Task<bool> Listening()
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, Port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL: Redis vanishes with whatever it held.</summary>
    public async Task Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync() => await Kill();
}
