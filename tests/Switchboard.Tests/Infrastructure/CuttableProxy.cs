using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a server, whose open connections a test can cut at
/// once (<see cref="Cut"/>) while new ones still go through: a dropped connection in the middle
/// of a stream, as a client on a flaky network sees it. Keeps the first bytes each connection
/// sent (the HTTP request head) for the test to read.
/// </summary>
public sealed class CuttableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _open = new();
    private readonly ConcurrentQueue<string> _heads = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public CuttableProxy(Uri target)
    {
        _target = target;
        _listener.Start();
        _accepting = Accept();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>The start of what each connection sent, in the order they connected.</summary>
    public IReadOnlyCollection<string> RequestHeads => _heads;

    /// <summary>Drops every connection open now (both sides reset); later connections go through.</summary>
    public void Cut()
    {
        foreach (var (client, upstream) in _open)
        {
            client.Client.LingerState = new LingerOption(true, 0);
            client.Dispose();
            upstream.Dispose();
        }
        _open.Clear();
    }

    private async Task Accept()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Relay(client);
        }
    }

    private async Task Relay(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_target.Host, _target.Port, _stop.Token);
            _open[client] = upstream;
            var head = new byte[2048];
            var read = await client.GetStream().ReadAsync(head, _stop.Token);
            _heads.Enqueue(Encoding.ASCII.GetString(head, 0, read));
            await upstream.GetStream().WriteAsync(head.AsMemory(0, read), _stop.Token);
            await Task.WhenAny(client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token), upstream.GetStream().CopyToAsync(client.GetStream(), _stop.Token));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Cut, or the other side closed.
        }
        finally
        {
            _open.TryRemove(client, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
    }
}
