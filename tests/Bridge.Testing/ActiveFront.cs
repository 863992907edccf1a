using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Bridge.Testing;

/// <summary>
/// The health-checked address a homeserver pushes appservice transactions to when two daemons share one lease (in
/// production a load balancer with a health check): a loopback TCP forwarder that sends each new connection to the
/// backend whose admin API says <c>role: active</c> on <c>/status</c>, asking every backend with a short timeout (a
/// frozen process does not answer, a standby says so). A connection no backend is active for is closed, as a balancer
/// with no healthy member does; the homeserver then retries the transaction. An open connection stays with the
/// backend it was given, so a deposed daemon's keep-alive connection ends when that process ends or closes it.
/// </summary>
public sealed class ActiveFront : IAsyncDisposable
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromMilliseconds(500);
    private readonly TcpListener _listener;
    private readonly HttpClient _health = new() { Timeout = HealthTimeout };
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, int> _forwarded = [];
    private IReadOnlyList<(Uri Admin, int Port)> _backends = [];
    private int _refused;

    private ActiveFront(TcpListener listener)
    {
        _listener = listener;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}");

    /// <summary>Connections closed because no backend said it was active.</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Each backend's admin URL and the port traffic goes to when it is the active one.</summary>
    public IReadOnlyList<(Uri Admin, int Port)> Backends
    {
        get => Volatile.Read(ref _backends);
        set => Volatile.Write(ref _backends, value);
    }

    /// <summary>Connections forwarded so far to the backend listening on <paramref name="port"/>.</summary>
    public int ForwardedTo(int port)
    {
        lock (_gate)
        {
            return _forwarded.GetValueOrDefault(port);
        }
    }

    public static ActiveFront Start()
    {
        var listener = new TcpListener(IPAddress.Loopback, FreePorts.Next());
        listener.Start();
        return new ActiveFront(listener);
    }

    private async Task AcceptLoopAsync()
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

            _ = Task.Run(() => ForwardAsync(client));
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using (client)
        {
            var port = await ActivePortAsync();
            if (port is null)
            {
                Interlocked.Increment(ref _refused);
                return;
            }

            using var backend = new TcpClient();
            try
            {
                await backend.ConnectAsync(IPAddress.Loopback, port.Value, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                Interlocked.Increment(ref _refused);
                return;
            }

            lock (_gate)
            {
                _forwarded[port.Value] = _forwarded.GetValueOrDefault(port.Value) + 1;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var up = PipeAsync(client.GetStream(), backend.GetStream(), linked.Token);
            var down = PipeAsync(backend.GetStream(), client.GetStream(), linked.Token);
            await Task.WhenAny(up, down);
            await linked.CancelAsync();
        }
    }

    private static async Task PipeAsync(NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went away: the connection ends, as through a balancer.
        }
    }

    private async Task<int?> ActivePortAsync()
    {
        foreach (var (admin, port) in Backends)
        {
            try
            {
                using var doc = JsonDocument.Parse(await _health.GetStringAsync(new Uri(admin, "/status"), _stop.Token));
                if (doc.RootElement.GetProperty("instance").GetProperty("role").GetString() is "active" or "single")
                {
                    return port;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                // Down, frozen or starting: not this one.
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _health.Dispose();
        _stop.Dispose();
    }
}
