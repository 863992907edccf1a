using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Direct;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Storage.Sqlite;
using Bridge.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>
/// Direct-message portals: kept in the store and found again by id, by either channel and by either person; opened
/// only between two networks with directMessages on and when the policy lets each person reach the other; in force as
/// a link of kind Direct that connectors are never asked to join as a group channel; every opening and refusal audited.
/// </summary>
public sealed class DirectPortalTests
{
    private static readonly PersonRef Bob = new() { NetworkId = "matrix", UserId = "@bob:hs", DisplayName = "Bob" };
    private static readonly PersonRef Carol = new() { NetworkId = "mm", UserId = "carolid", DisplayName = "Carol" };

    private static DirectPortal Portal(string matrixRoom, string mmChannel) => new()
    {
        Id = DirectPortal.IdFor(Bob.Key, Carol.Key),
        First = new DirectParty { NetworkId = "matrix", UserId = Bob.UserId, ChannelId = matrixRoom },
        Second = new DirectParty { NetworkId = "mm", UserId = Carol.UserId, ChannelId = mmChannel },
    };

    [Fact]
    public async Task A_saved_portal_is_found_after_a_reload_by_id_channel_and_either_person_and_an_unreadable_row_is_left_out()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.db");
        await using (var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = path }, NullLogger<SqliteBridgeStore>.Instance))
        {
            await store.MigrateAsync(default);
            var registry = new DirectPortalRegistry(store, NullLogger<DirectPortalRegistry>.Instance);
            await registry.SaveAsync(Portal("!old:hs", "dm1"), default);
            await registry.SaveAsync(Portal("!new:hs", "dm1"), default); // the same two people in a new room: replaced, not doubled
            await store.SetAsync(DirectPortalRegistry.Scope, "dm-broken", "{\"id\":\"dm-broken\"}", default);
        }

        await using var reopened = new SqliteBridgeStore(new SqliteStoreOptions { Path = path }, NullLogger<SqliteBridgeStore>.Instance);
        await reopened.MigrateAsync(default);
        var loaded = new DirectPortalRegistry(reopened, NullLogger<DirectPortalRegistry>.Instance);
        await loaded.LoadAsync(default);

        var portal = Assert.Single(loaded.All);
        Assert.Equal(portal, loaded.Find(portal.Id));
        Assert.Equal(portal, loaded.FindByChannel(new ChannelRef("matrix", "!new:hs")));
        Assert.Equal(portal, loaded.FindByChannel(new ChannelRef("mm", "dm1")));
        Assert.Null(loaded.FindByChannel(new ChannelRef("matrix", "!old:hs")));
        Assert.Equal(portal, loaded.FindByPeople(Bob.Key, Carol.Key));
        Assert.Equal(portal, loaded.FindByPeople(Carol.Key, Bob.Key));
        Assert.Equal(LinkSource.Direct, portal.ToLink().Source);
    }

    private sealed class World : IAsyncDisposable
    {
        private readonly TempDirectory _dir = new();

        public World(bool matrixDirect = true, string? barrier = null)
        {
            Topology = new BridgeTopology(
                [
                    new NetworkDefinition { Id = "matrix", Kind = NetworkKind.Matrix, Organisation = "org-m", DirectMessages = matrixDirect },
                    new NetworkDefinition { Id = "mm", Kind = NetworkKind.Mattermost, Organisation = "org-mm", DirectMessages = true },
                ],
                [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef("matrix", "#ops:hs"), new ChannelRef("mm", "town-square")] }]);
            var settings = new Dictionary<string, string?>();
            if (barrier is not null)
            {
                settings["policy:barriers:0:0"] = "org-m";
                settings["policy:barriers:0:1"] = barrier;
            }

            var compiled = PolicyCompiler.Compile(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("policy"), Topology);
            Assert.True(compiled.Succeeded, string.Join("; ", compiled.Errors));
            Store = new SqliteBridgeStore(new SqliteStoreOptions { Path = _dir.File("bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);
            Connectors.Add(Matrix);
            Connectors.Add(Mattermost);
            Direct = new DirectMessages(Topology, new DirectPortalRegistry(Store, NullLogger<DirectPortalRegistry>.Instance), Connectors, compiled.Policy!,
                Store, new DeliverySignals(), NullLogger<DirectMessages>.Instance);
        }

        public BridgeTopology Topology { get; }
        public SqliteBridgeStore Store { get; }
        public ConnectorRegistry Connectors { get; } = new();
        public DirectConnector Matrix { get; } = new("matrix", "!made:hs");
        public DirectConnector Mattermost { get; } = new("mm", "dmchannel");
        public DirectMessages Direct { get; }

        public async Task<List<(string Decision, string Rule)>> AuditAsync() =>
            [.. (await Store.ReadAuditAsync(0, null, 100, default)).Select(r => r.Entry).Where(r => r.Kind == DirectMessages.AuditKind).Select(r => (r.Decision, r.RuleId))];

        public async ValueTask DisposeAsync()
        {
            await Store.DisposeAsync();
            _dir.Dispose();
        }
    }

    [Fact]
    public async Task An_allowed_chat_opens_one_portal_in_force_as_a_direct_link_found_again_from_either_side()
    {
        await using var w = new World();
        await w.Store.MigrateAsync(default);

        var opened = await w.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default);
        Assert.True(opened.Opened, opened.Refusal);
        Assert.Equal([(Carol.Key, Bob.Key)], w.Mattermost.Opened);
        var link = Assert.Single(w.Topology.LinksFor(new ChannelRef("mm", "dmchannel")));
        Assert.Equal(LinkSource.Direct, link.Source);
        Assert.Equal([new ChannelRef("matrix", "!bobs:hs"), new ChannelRef("mm", "dmchannel")], link.Endpoints);
        Assert.DoesNotContain("dmchannel", w.Topology.ChannelsOf("mm"));
        Assert.Contains("town-square", w.Topology.ChannelsOf("mm"));
        Assert.Equal([opened.Portal!.Id], w.Mattermost.InForce);

        // The other side writes in the same DM: the same portal, nothing new opened anywhere.
        var again = await w.Direct.OpenAsync(Carol, "dmchannel", Bob, default);
        Assert.Equal(opened.Portal.Id, again.Portal?.Id);
        Assert.Empty(w.Matrix.Opened);
        Assert.Single(w.Mattermost.Opened);

        // A run-time link change keeps the portal in force.
        w.Topology.ReplaceLinks([.. w.Topology.Links.Where(l => l.Source != LinkSource.Direct)]);
        Assert.Single(w.Topology.LinksFor(new ChannelRef("matrix", "!bobs:hs")));
        Assert.Equal([("direct-opened", "direct")], await w.AuditAsync());
    }

    [Fact]
    public async Task A_network_with_direct_messages_off_or_a_barrier_refuses_the_chat_on_record_and_nothing_is_opened()
    {
        await using (var off = new World(matrixDirect: false))
        {
            await off.Store.MigrateAsync(default);
            var refused = await off.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default);
            Assert.False(refused.Opened);
            Assert.Equal("direct-off", refused.RuleId);
            Assert.Empty(off.Mattermost.Opened);
            Assert.Equal([("direct-refused", "direct-off")], await off.AuditAsync());
        }

        await using var barred = new World(barrier: "org-mm");
        await barred.Store.MigrateAsync(default);
        var blocked = await barred.Direct.OpenAsync(Carol, "dmchannel", Bob, default);
        Assert.False(blocked.Opened);
        Assert.Equal("barrier", blocked.RuleId);
        Assert.Empty(barred.Matrix.Opened);
        Assert.Empty(barred.Topology.LinksFor(new ChannelRef("mm", "dmchannel")));
        Assert.Equal([("direct-refused", "barrier")], await barred.AuditAsync());
    }

    /// <summary>A network edge that opens DMs by answering a fixed channel id, and records what it was asked.</summary>
    private sealed class DirectConnector(string networkId, string channel) : INetworkConnector, IDirectMessageConnector
    {
        public List<(string Local, string Remote)> Opened { get; } = [];
        public List<string> InForce { get; } = [];
        public string NetworkId => networkId;
        public NetworkKind Kind => NetworkKind.Matrix;
        public bool IsReady => true;

        public Task<string> OpenDirectAsync(PersonRef local, PersonRef remote, CancellationToken cancellationToken)
        {
            Opened.Add((local.Key, remote.Key));
            return Task.FromResult(channel);
        }

        public Task DirectPortalInForceAsync(DirectPortal portal, CancellationToken cancellationToken)
        {
            InForce.Add(portal.Id);
            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
