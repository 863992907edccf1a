namespace Bridge.Core.Connectors;

/// <summary>What a connector can tell an operator about its link beyond <see cref="INetworkConnector.IsReady"/>.</summary>
/// <param name="RoomsJoined">Linked rooms the bridge account is in now.</param>
/// <param name="RoomsLinked">Rooms the links name on this network.</param>
/// <param name="Reconnects">Connections made after the first one since the daemon started.</param>
/// <param name="LastError">The newest connection or start-up problem, kept after it cleared so that a blip stays visible.</param>
public sealed record ConnectorVitals(int RoomsJoined, int RoomsLinked, long Reconnects, string? LastError, DateTimeOffset? LastErrorAt);

/// <summary>Implemented by connectors that report <see cref="ConnectorVitals"/> (the console and <c>/status</c> show them).</summary>
public interface IConnectorVitalsSource
{
    ConnectorVitals Vitals { get; }
}

/// <summary>
/// A connector's connection history: how often it connected and the newest problem. Thread-safe; written from a
/// connector's connection loop, read by the admin API.
/// </summary>
public sealed class ConnectionHistory(TimeProvider time)
{
    private readonly Lock _gate = new();
    private long _connections;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;

    public void Connected() => Interlocked.Increment(ref _connections);

    public void Failed(string error)
    {
        lock (_gate)
        {
            _lastError = error;
            _lastErrorAt = time.GetUtcNow();
        }
    }

    public long Reconnects => Math.Max(0, Interlocked.Read(ref _connections) - 1);

    public (string? Error, DateTimeOffset? At) LastError
    {
        get
        {
            lock (_gate)
            {
                return (_lastError, _lastErrorAt);
            }
        }
    }

    public ConnectorVitals Vitals(int roomsJoined, int roomsLinked)
    {
        var (error, at) = LastError;
        return new ConnectorVitals(roomsJoined, roomsLinked, Reconnects, error, at);
    }
}
