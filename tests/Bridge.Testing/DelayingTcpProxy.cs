using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Bridge.Testing;

/// <summary>
/// A loopback TCP forwarder put between the daemon and one server to make that network slow or down: every chunk is
/// held for the configured delay of its direction before it is passed on (bytes stay in order and pipelined, so the
/// delay adds latency without cutting throughput), and <see cref="SetDown"/> closes the listening port (connections are
/// refused) and resets every open connection, the way a dead host or a pulled cable looks to the daemon.
/// Settings apply at once to bytes read from then on. Listens on a port from <see cref="FreePorts"/>.
/// </summary>
public sealed class DelayingTcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _gate = new();
    private readonly HashSet<Connection> _connections = [];
    private readonly CancellationTokenSource _stop = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private long _toServerTicks;
    private long _toClientTicks;

    private DelayingTcpProxy(int targetPort, int port)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        Port = port;
    }

    /// <summary>The port the daemon connects to instead of the server's.</summary>
    public int Port { get; }

    /// <summary>Connections accepted so far (each one forwarded to the server).</summary>
    public int Accepted { get; private set; }

    public bool IsDown { get; private set; }

    /// <summary>Added delay for bytes from the daemon to the server.</summary>
    public TimeSpan ToServerDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _toServerTicks));
        set => Interlocked.Exchange(ref _toServerTicks, value.Ticks);
    }

    /// <summary>Added delay for bytes from the server back to the daemon.</summary>
    public TimeSpan ToClientDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _toClientTicks));
        set => Interlocked.Exchange(ref _toClientTicks, value.Ticks);
    }

    /// <summary>Sets the same added delay both ways.</summary>
    public TimeSpan Delay
    {
        set
        {
            ToServerDelay = value;
            ToClientDelay = value;
        }
    }

    public static DelayingTcpProxy Start(int targetPort)
    {
        var proxy = new DelayingTcpProxy(targetPort, FreePorts.Next());
        proxy.Listen();
        return proxy;
    }

    /// <summary>Down: the port refuses connections and every open one is reset. Up: accepts and forwards again.</summary>
    public void SetDown(bool down)
    {
        List<Connection> open;
        lock (_gate)
        {
            if (down == IsDown)
            {
                return;
            }

            IsDown = down;
            if (!down)
            {
                Listen();
                return;
            }

            _listener?.Stop();
            _listener = null;
            open = [.. _connections];
            _connections.Clear();
        }

        foreach (var c in open)
        {
            c.Reset();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        SetDown(true);
        try
        {
            await _acceptLoop;
        }
        catch (Exception)
        {
            // Stopping: the loop ends with the listener.
        }

        _stop.Dispose();
    }

    private void Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener));
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception)
            {
                // Stopped (down or disposed): a later SetDown(false) starts a new loop on a new listener.
                return;
            }

            client.NoDelay = true;
            var connection = new Connection(this, client);
            lock (_gate)
            {
                if (IsDown || !ReferenceEquals(listener, _listener))
                {
                    connection.Reset();
                    continue;
                }

                _connections.Add(connection);
                Accepted++;
            }

            _ = connection.RunAsync(_stop.Token);
        }
    }

    private void Forget(Connection c)
    {
        lock (_gate)
        {
            _connections.Remove(c);
        }
    }

    /// <summary>One daemon connection and its own connection to the server; two pumps, each with its own delay line.</summary>
    private sealed class Connection(DelayingTcpProxy owner, Socket client)
    {
        private readonly Socket _server = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private int _reset;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                await _server.ConnectAsync(owner._target, cancellationToken);
            }
            catch (Exception)
            {
                // The server itself is down: the daemon sees its connection reset, as it would without the proxy (refused).
                Reset();
                owner.Forget(this);
                return;
            }

            var up = PumpAsync(client, _server, () => owner.ToServerDelay, cancellationToken);
            var down = PumpAsync(_server, client, () => owner.ToClientDelay, cancellationToken);
            await Task.WhenAll(up, down);
            Close();
            owner.Forget(this);
        }

        /// <summary>Drops both sides with RST (linger 0): what a dead peer looks like.</summary>
        public void Reset()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0)
            {
                return;
            }

            foreach (var s in new[] { client, _server })
            {
                try
                {
                    s.LingerState = new LingerOption(true, 0);
                    s.Close();
                }
                catch (Exception)
                {
                    // Already gone.
                }
            }
        }

        private void Close()
        {
            if (Interlocked.Exchange(ref _reset, 1) != 0)
            {
                return;
            }

            client.Dispose();
            _server.Dispose();
        }

        private async Task PumpAsync(Socket from, Socket to, Func<TimeSpan> delay, CancellationToken cancellationToken)
        {
            var line = Channel.CreateUnbounded<(long Due, byte[]? Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var writer = WriteDelayedAsync(line.Reader, to, cancellationToken);
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                    var due = Stopwatch.GetTimestamp() + (long)(delay().TotalSeconds * Stopwatch.Frequency);
                    if (n == 0)
                    {
                        line.Writer.TryWrite((due, null));
                        break;
                    }

                    line.Writer.TryWrite((due, buffer.AsSpan(0, n).ToArray()));
                }
            }
            catch (Exception)
            {
                // Reset or stopped: the other side is reset too.
                Reset();
            }

            line.Writer.TryComplete();
            await writer;
        }

        private async Task WriteDelayedAsync(ChannelReader<(long Due, byte[]? Data)> line, Socket to, CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var (due, data) in line.ReadAllAsync(cancellationToken))
                {
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellationToken);
                    }

                    if (data is null)
                    {
                        // The sender closed its side: pass the half-close on, after the same delay.
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    var sent = 0;
                    while (sent < data.Length)
                    {
                        sent += await to.SendAsync(data.AsMemory(sent), SocketFlags.None, cancellationToken);
                    }
                }
            }
            catch (Exception)
            {
                Reset();
            }
        }
    }
}
