using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

namespace Sandbox.Mattermost.WebSockets;

/// <summary>One physical socket with its own ordered writer, so that events from any request thread keep their order.</summary>
internal sealed class WsLink
{
    private readonly WebSocket _socket;
    private readonly Channel<string> _outbox = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _cts = new();

    public WsLink(WebSocket socket)
    {
        _socket = socket;
        WriterTask = Task.Run(WriteLoopAsync);
    }

    public Task WriterTask { get; }

    public CancellationToken Aborted => _cts.Token;

    /// <summary>A frozen link keeps its TCP connection but the server writes nothing more to it (a half-dead network path).</summary>
    public bool Frozen { get; set; }

    public void Send(string json)
    {
        if (!Frozen)
        {
            _outbox.Writer.TryWrite(json);
        }
    }

    /// <summary>Drops the TCP connection at once (what a network failure or a server crash looks like to the client).</summary>
    public void Abort()
    {
        _outbox.Writer.TryComplete();
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _socket.Abort();
    }

    /// <summary>Closes after the queued frames are written (a bad token: the server closes without an error frame).</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, CancellationToken ct)
    {
        _outbox.Writer.TryComplete();
        await WriterTask;
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseOutputAsync(status, null, ct);
            }
        }
        catch (WebSocketException)
        {
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var json in _outbox.Reader.ReadAllAsync(_cts.Token))
            {
                await _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, _cts.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // the socket is gone; the reader side notices too
        }
    }
}
