using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>A client of the live status WebSocket (<c>/svc/request/{id}/ws</c>) of a process started by the tests.</summary>
public static class LiveSockets
{
    public static async Task<ClientWebSocket> Connect(SwitchboardProcess process, string id, string key, TimeSpan timeout)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
        using var cancel = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(new UriBuilder(process.Address!) { Scheme = "ws", Path = $"/svc/request/{id}/ws" }.Uri, cancel.Token);
        return socket;
    }

    /// <summary>Every message until the server closes the socket (then answers its close); fails after <paramref name="timeout"/>.</summary>
    public static async Task<List<JsonObject>> ReadToClose(WebSocket socket, TimeSpan timeout, Action<JsonObject>? each = null)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var messages = new List<JsonObject>();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, cancel.Token);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cancel.Token);
                return messages;
            }
            Assert.Equal(WebSocketMessageType.Text, received.MessageType);
            var json = JsonNode.Parse(Encoding.UTF8.GetString(message.ToArray()))!.AsObject();
            each?.Invoke(json);
            messages.Add(json);
        }
    }
}
