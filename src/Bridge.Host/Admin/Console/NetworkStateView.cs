using Bridge.Core.Connectors;

namespace Bridge.Host.Admin.Console;

/// <summary>One network as the console shows it.</summary>
internal sealed record NetworkState(
    string Id,
    string Kind,
    bool Connected,
    string? Degraded,
    string? Waiting,
    int? Pending,
    int? RoomsJoined,
    int? RoomsLinked,
    long? Reconnects,
    string? LastError,
    DateTimeOffset? LastErrorAt);

/// <summary>Builds the per-network live state from the running connectors, the outbox and the delivery waits.</summary>
internal static class NetworkStateView
{
    public static async Task<IReadOnlyList<NetworkState>> ReadAsync(ConsoleSources sources, CancellationToken cancellationToken)
    {
        var list = new List<NetworkState>();
        foreach (var c in sources.Connectors.All)
        {
            var vitals = (c as IConnectorVitalsSource)?.Vitals;
            list.Add(new NetworkState(
                c.NetworkId,
                c.Kind.ToString().ToLowerInvariant(),
                c.IsReady,
                c.DegradedReason,
                sources.Waits.Current(c.NetworkId)?.Describe(),
                await PendingAsync(sources, c.NetworkId, cancellationToken),
                vitals?.RoomsJoined,
                vitals?.RoomsLinked,
                vitals?.Reconnects,
                vitals?.LastError,
                vitals?.LastErrorAt));
        }

        return list;
    }

    /// <summary>Null while the store cannot say (starting, or refusing): the page must still show the rest.</summary>
    private static async Task<int?> PendingAsync(ConsoleSources sources, string network, CancellationToken cancellationToken)
    {
        try
        {
            return await sources.Store.CountPendingAsync(network, cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
