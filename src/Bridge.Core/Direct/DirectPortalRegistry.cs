using System.Collections.Immutable;
using System.Text.Json;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Direct;

/// <summary>
/// The direct-message portals, kept in the store (scope <c>direct-portals</c>, one JSON row per portal) and in memory as
/// one immutable snapshot, found by id, by either channel and by either person. A stored row that does not read is
/// logged and left out, never half-used.
/// </summary>
public sealed class DirectPortalRegistry(IConnectorStateStore store, ILogger<DirectPortalRegistry> logger)
{
    public const string Scope = "direct-portals";

    private readonly Lock _gate = new();
    private volatile Snapshot _now = new(ImmutableDictionary<string, DirectPortal>.Empty);

    public IReadOnlyCollection<DirectPortal> All => _now.ById.Values.ToList();

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var portals = ImmutableDictionary.CreateBuilder<string, DirectPortal>(StringComparer.Ordinal);
        foreach (var (id, json) in await store.ListAsync(Scope, cancellationToken))
        {
            try
            {
                var portal = DirectPortal.FromJson(json);
                portals[portal.Id] = portal;
            }
            catch (Exception ex) when (ex is JsonException or NullReferenceException or ArgumentException or InvalidOperationException or NotSupportedException)
            {
                // A corrupted row (a missing party, a null where a string goes) is left out, never fatal at start.
                logger.LogError(DirectLog.StoredPortalUnreadable, "Stored direct portal {Portal} is not in force: {Reason}", id, ex.Message);
            }
        }

        _now = new Snapshot(portals.ToImmutable());
    }

    public DirectPortal? Find(string id) => _now.ById.GetValueOrDefault(id);

    public DirectPortal? FindByChannel(ChannelRef channel) => _now.ByChannel.GetValueOrDefault(channel);

    /// <summary>The portal of two people (by person key, <c>network/user</c>), whichever side opened it.</summary>
    public DirectPortal? FindByPeople(string personKeyA, string personKeyB) => Find(DirectPortal.IdFor(personKeyA, personKeyB));

    /// <summary>Stores the portal (new, or the same pair with a new channel), then puts it in the snapshot.</summary>
    public async Task SaveAsync(DirectPortal portal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(portal);
        await store.SetAsync(Scope, portal.Id, portal.ToJson(), cancellationToken);
        lock (_gate)
        {
            _now = new Snapshot(_now.ById.SetItem(portal.Id, portal));
        }
    }

    private sealed class Snapshot
    {
        public Snapshot(ImmutableDictionary<string, DirectPortal> byId)
        {
            ById = byId;
            foreach (var portal in byId.Values)
            {
                foreach (var party in portal.Parties)
                {
                    ByChannel[party.Channel] = portal;
                }
            }
        }

        public ImmutableDictionary<string, DirectPortal> ById { get; }
        public Dictionary<ChannelRef, DirectPortal> ByChannel { get; } = [];
    }
}

internal static class DirectLog
{
    public static readonly EventId StoredPortalUnreadable = new(1401, nameof(StoredPortalUnreadable));
    public static readonly EventId Opened = new(1402, "DirectPortalOpened");
    public static readonly EventId Refused = new(1403, "DirectPortalRefused");
    public static readonly EventId Failed = new(1404, "DirectPortalFailed");
    public static readonly EventId Loaded = new(1405, "DirectPortalsLoaded");
    public static readonly EventId Throttled = new(1406, "DirectPortalThrottled");
}
