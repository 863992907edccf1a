using System.Net;
using System.Net.Sockets;

namespace Bridge.Testing;

/// <summary>
/// A TCP forwarder on loopback that can make a network partition: <see cref="Blackhole"/> stops forwarding in both
/// directions on every open connection without closing anything (no FIN, no RST: the bytes just vanish, as when a
/// link or a firewall drops packets), and connections accepted while blackholed go nowhere either.
/// <see cref="Restore"/> forwards again for connections accepted from then on; the cut ones stay cut until disposal.
/// </summary>
public sealed class BlackholeProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Link> _links = [];
    private readonly Task _acceptLoop;
    private volatile bool _blackholed;

    private BlackholeProxy(IPEndPoint target, int port)
    {
        _target = target;
        Port = port;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port to connect to instead of the target's.</summary>
    public int Port { get; }

    /// <summary>Connections accepted so far (forwarded or not).</summary>
    public int Accepted { get; private set; }

    /// <summary>Starts forwarding loopback port <see cref="Port"/> (chosen by <see cref="FreePorts"/>) to <paramref name="targetPort"/>.</summary>
    public static BlackholeProxy Start(int targetPort) => new(new IPEndPoint(IPAddress.Loopback, targetPort), FreePorts.Next());

    /// <summary>Rewrites <paramref name="url"/> to go through the proxy.</summary>
    public Uri Through(Uri url) => new UriBuilder(url) { Host = "127.0.0.1", Port = Port }.Uri;

    /// <summary>Every open connection and every new one goes silent in both directions; nothing is closed.</summary>
    public void Blackhole()
    {
        lock (_gate)
        {
            _blackholed = true;
            foreach (var link in _links)
            {
                link.Cut = true;
            }
        }
    }

    /// <summary>New connections are forwarded again; those cut stay cut (their peers must notice and reconnect).</summary>
    public void Restore() => _blackholed = false;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var link = new Link(client);
            lock (_gate)
            {
                link.Cut = _blackholed;
                _links.Add(link);
                Accepted++;
            }

            _ = Task.Run(() => RunAsync(link));
        }
    }

    private async Task RunAsync(Link link)
    {
        try
        {
            if (link.Cut)
            {
                // A partition: the connection was accepted (SYN got through) but nothing is ever forwarded. Read and drop.
                await DrainAsync(link.Client.GetStream(), _stop.Token);
                return;
            }

            await link.Upstream.ConnectAsync(_target, _stop.Token);
            link.Client.NoDelay = true;
            link.Upstream.NoDelay = true;
            var a = PumpAsync(link, link.Client.GetStream(), link.Upstream.GetStream());
            var b = PumpAsync(link, link.Upstream.GetStream(), link.Client.GetStream());
            await Task.WhenAny(a, b);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The proxy is stopping or a side went away.
        }
        finally
        {
            if (!link.Cut)
            {
                // A side closed while forwarding: pass the close on, as a real network would.
                link.Dispose();
            }
        }
    }

    /// <summary>Forwards until either side closes; once the link is cut, what arrives is dropped and nothing is closed.</summary>
    private async Task PumpAsync(Link link, NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var n = await from.ReadAsync(buffer, _stop.Token);
            if (link.Cut)
            {
                // Stay open and silent until the proxy is disposed, whatever either side does.
                await DrainAsync(from, _stop.Token);
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }

            if (n == 0)
            {
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
        }
    }

    private static async Task DrainAsync(NetworkStream from, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (await from.ReadAsync(buffer, cancellationToken) > 0)
        {
            // Dropped: the packets vanish.
        }

        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping.
        }

        lock (_gate)
        {
            foreach (var link in _links)
            {
                link.Dispose();
            }

            _links.Clear();
        }

        _listener.Dispose();
        _stop.Dispose();
    }

    private sealed class Link(TcpClient client) : IDisposable
    {
        public TcpClient Client { get; } = client;

        public TcpClient Upstream { get; } = new();

        public volatile bool Cut;

        public void Dispose()
        {
            Client.Dispose();
            Upstream.Dispose();
        }
    }
}
