using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Direct;
using Bridge.Core.Model;
using Bridge.Core.Policy;
using Bridge.Core.Routing;
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
            // Rows that read as JSON but are corrupted: a null party, a null channel. Left out, never fatal at start.
            await store.SetAsync(DirectPortalRegistry.Scope, "dm-null", "{\"id\":\"dm-null\",\"first\":null,\"second\":{\"networkId\":\"mm\",\"userId\":\"u\",\"channelId\":\"c\"}}", default);
            await store.SetAsync(DirectPortalRegistry.Scope, "dm-nullchan", "{\"id\":\"dm-nullchan\",\"first\":{\"networkId\":\"matrix\",\"userId\":\"u\",\"channelId\":null},\"second\":{\"networkId\":\"mm\",\"userId\":\"u\",\"channelId\":\"c\"}}", default);
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

        public World(bool matrixDirect = true, string? barrier = null, IEnumerable<LinkDefinition>? links = null, Dictionary<string, string?>? policy = null,
            TimeSpan? openTimeout = null, int perMinute = 6)
        {
            Topology = new BridgeTopology(
                [
                    new NetworkDefinition { Id = "matrix", Kind = NetworkKind.Matrix, Organisation = "org-m", DirectMessages = matrixDirect },
                    new NetworkDefinition { Id = "mm", Kind = NetworkKind.Mattermost, Organisation = "org-mm", DirectMessages = true },
                ],
                links ?? [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef("matrix", "#ops:hs"), new ChannelRef("mm", "town-square")] }]);
            var settings = policy ?? new Dictionary<string, string?>();
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
                Store, new DeliverySignals(), NullLogger<DirectMessages>.Instance)
            {
                OpenTimeout = openTimeout ?? TimeSpan.FromSeconds(15),
                OpeningsPerMinute = perMinute,
            };
            Policy = compiled.Policy!;
        }

        public ISharingPolicy Policy { get; }

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
        var link = Assert.Single(w.Topology.LinksFor(new ChannelRef("mm", "dmchannel-@bob:hs")));
        Assert.Equal(LinkSource.Direct, link.Source);
        Assert.Equal([new ChannelRef("matrix", "!bobs:hs"), new ChannelRef("mm", "dmchannel-@bob:hs")], link.Endpoints);
        Assert.DoesNotContain("dmchannel-@bob:hs", w.Topology.ChannelsOf("mm"));
        Assert.Contains("town-square", w.Topology.ChannelsOf("mm"));
        Assert.Equal([opened.Portal!.Id], w.Mattermost.InForce);

        // The other side writes in the same DM: the same portal, nothing new opened anywhere.
        var again = await w.Direct.OpenAsync(Carol, "dmchannel-@bob:hs", Bob, default);
        Assert.Equal(opened.Portal.Id, again.Portal?.Id);
        Assert.Empty(w.Matrix.Opened);
        Assert.Single(w.Mattermost.Opened);

        // A run-time link change keeps the portal in force.
        w.Topology.ReplaceLinks([.. w.Topology.Links.Where(l => l.Source != LinkSource.Direct)]);
        Assert.Single(w.Topology.LinksFor(new ChannelRef("matrix", "!bobs:hs")));
        Assert.Equal([("direct-opened", "direct")], await w.AuditAsync());
    }

    [Fact]
    public async Task A_stored_portal_on_a_channel_a_link_joins_is_kept_out_of_force_at_start()
    {
        await using var w = new World(links: [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef("matrix", "!bobs:hs"), new ChannelRef("mm", "town-square")] }]);
        await w.Store.MigrateAsync(default);
        var registry = new DirectPortalRegistry(w.Store, NullLogger<DirectPortalRegistry>.Instance);
        await registry.SaveAsync(Portal("!bobs:hs", "dm1"), default);
        await registry.SaveAsync(new DirectPortal
        {
            Id = "dm-other",
            First = new DirectParty { NetworkId = "matrix", UserId = "@dan:hs", ChannelId = "!dans:hs" },
            Second = new DirectParty { NetworkId = "mm", UserId = "frankid", ChannelId = "dm2" },
        }, default);

        await w.Direct.LoadAsync(default);

        var inForce = Assert.Single(w.Topology.Links, l => l.Source == LinkSource.Direct);
        Assert.Equal("dm-other", inForce.Id);
        Assert.Single(w.Topology.LinksFor(new ChannelRef("matrix", "!bobs:hs"))); // only the link
    }

    [Fact]
    public async Task An_opening_carries_no_picture_the_policy_has_not_decided()
    {
        await using var w = new World();
        await w.Store.MigrateAsync(default);
        var picture = new Bridge.Core.Profiles.AvatarRef(new Bridge.Core.Media.MediaSource("matrix", "mxc://hs/bob"), "mxc://hs/bob");

        var opened = await w.Direct.OpenAsync(Bob with { Avatar = picture, AvatarUrl = "mxc://hs/bob" }, "!bobs:hs", Carol, default);

        Assert.True(opened.Opened, opened.Refusal);
        var remote = Assert.Single(w.Mattermost.Remotes);
        Assert.Null(remote.Avatar);
        Assert.Null(remote.AvatarUrl);
        Assert.Equal("Bob", remote.DisplayName);
    }

    [Fact]
    public async Task A_chat_in_a_linked_channel_or_answered_with_one_is_refused_on_record()
    {
        // The Matrix person "chats" from the linked room itself: a group, not two people.
        await using (var w = new World())
        {
            await w.Store.MigrateAsync(default);
            var fromLinked = await w.Direct.OpenAsync(Bob, "#ops:hs", Carol, default);
            Assert.False(fromLinked.Opened);
            Assert.Equal("direct-linked", fromLinked.RuleId);
            Assert.Empty(w.Mattermost.Opened);
        }

        // The other network answers with a channel a link joins: refused, nothing put in force.
        await using var answered = new World(links: [new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef("matrix", "#ops:hs"), new ChannelRef("mm", "dmchannel-@bob:hs")] }]);
        await answered.Store.MigrateAsync(default);
        var intoLinked = await answered.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default);
        Assert.False(intoLinked.Opened);
        Assert.Equal("direct-linked", intoLinked.RuleId);
        Assert.DoesNotContain(answered.Topology.Links, l => l.Source == LinkSource.Direct);
        Assert.Empty(answered.Mattermost.InForce);
        Assert.Contains(("direct-refused", "direct-linked"), await answered.AuditAsync());
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

    private static readonly PersonRef Dave = new() { NetworkId = "mm", UserId = "daveid", DisplayName = "Dave" };

    private static readonly LinkDefinition Ops = new() { Id = "ops", Endpoints = [new ChannelRef("matrix", "#ops:hs"), new ChannelRef("mm", "town-square")] };
    private static readonly LinkDefinition OneWay = new() { Id = "oneway", Endpoints = [new ChannelRef("matrix", "#news:hs"), new ChannelRef("mm", "news")] };

    /// <summary>Link "oneway" does not deliver toward mm (a one-way link from mm to matrix).</summary>
    private static Dictionary<string, string?> OneWayTowardMatrix() => new() { ["policy:links:oneway:destinations:mm:block"] = "true" };

    [Fact]
    public async Task A_remote_open_that_never_answers_fails_after_the_timeout_on_record()
    {
        await using var w = new World(openTimeout: TimeSpan.FromMilliseconds(300));
        await w.Store.MigrateAsync(default);
        w.Mattermost.Hold = (local, ct) => local.UserId == Carol.UserId ? Task.Delay(Timeout.Infinite, ct) : Task.CompletedTask;

        // Carol's side never answers: the opening fails on its own (unavailable), it does not wait forever.
        var stalled = await w.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(stalled.Opened);
        Assert.Equal("unavailable", stalled.RuleId);
        Assert.Equal([("direct-failed", "unavailable")], await w.AuditAsync());
    }

    [Fact]
    public async Task A_slow_opening_of_one_pair_does_not_stall_the_opening_of_another_pair()
    {
        await using var w = new World(openTimeout: TimeSpan.FromMinutes(10));
        await w.Store.MigrateAsync(default);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        w.Mattermost.Hold = (local, ct) => local.UserId == Carol.UserId ? release.Task.WaitAsync(ct) : Task.CompletedTask;

        var slow = w.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default);
        // Dave's chat with Bob is another pair: it opens while Carol's side is still being opened.
        var other = await w.Direct.OpenAsync(Bob, "!bob-dave:hs", Dave, default).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(other.Opened, other.Refusal);
        Assert.False(slow.IsCompleted);

        release.SetResult();
        Assert.True((await slow.WaitAsync(TimeSpan.FromSeconds(30))).Opened);
    }

    [Fact]
    public async Task Openings_beyond_the_rate_of_one_initiator_are_refused_without_an_audit_record_each_and_counted()
    {
        await using var w = new World(barrier: "org-mm", perMinute: 3);
        await w.Store.MigrateAsync(default);
        var rules = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var refused = await w.Direct.OpenAsync(Carol, "dm" + i, Bob, default);
            Assert.False(refused.Opened);
            rules.Add(refused.RuleId);
        }

        string[] expected = [.. Enumerable.Repeat("barrier", 3), .. Enumerable.Repeat("direct-rate", 7)];
        Assert.Equal(expected, rules);
        Assert.Equal(3, (await w.AuditAsync()).Count);
        Assert.Equal(7, w.Direct.Throttled);

        // Another person is not held back by Carol's flood.
        Assert.Equal("barrier", (await w.Direct.OpenAsync(Dave, "dmd", Bob, default)).RuleId);
    }

    [Fact]
    public async Task Two_networks_that_no_link_connects_have_no_direct_chats()
    {
        await using var w = new World(links: []);
        await w.Store.MigrateAsync(default);
        var refused = await w.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default);
        Assert.False(refused.Opened);
        Assert.Equal(DirectLinkPolicy.NoLinkRule, refused.RuleId);
        Assert.Empty(w.Mattermost.Opened);
        Assert.Equal([("direct-refused", DirectLinkPolicy.NoLinkRule)], await w.AuditAsync());
    }

    [Fact]
    public async Task An_opening_must_pass_every_link_that_connects_the_two_networks()
    {
        await using var w = new World(links: [Ops, OneWay], policy: OneWayTowardMatrix());
        await w.Store.MigrateAsync(default);

        // ops lets Bob reach mm, oneway does not: the strictest wins.
        var refused = await w.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default);
        Assert.False(refused.Opened);
        Assert.Equal("destination-block", refused.RuleId);
        Assert.Empty(w.Mattermost.Opened);

        // Carol writing first is refused too: the portal carries both ways and Bob may not answer toward mm.
        Assert.Equal("destination-block", (await w.Direct.OpenAsync(Carol, "dmc", Bob, default)).RuleId);
    }

    [Fact]
    public async Task A_message_in_an_open_portal_is_decided_with_every_link_joining_the_networks_and_blocked_when_one_blocks_or_none_is_left()
    {
        await using var w = new World(links: [Ops, OneWay], policy: OneWayTowardMatrix());
        await w.Store.MigrateAsync(default);
        w.Topology.ReplaceLinks([Ops]); // oneway is configured in the policy but not linked (yet)
        var opened = await w.Direct.OpenAsync(Bob, "!bobs:hs", Carol, default);
        Assert.True(opened.Opened, opened.Refusal);
        var router = new BridgeRouter(w.Store, w.Topology, w.Policy, new DeliverySignals(), w.Connectors, new AuditOptions(), NullLogger<BridgeRouter>.Instance);

        async Task<(string Decision, string Rule)> Route(string nativeId)
        {
            await router.IngestAsync(new BridgeEvent { NetworkId = "matrix", ChannelId = "!bobs:hs", NativeId = nativeId, Sender = Bob, Text = "hi" }, default);
            var record = (await w.Store.ReadAuditAsync(0, null, 100, default)).Select(r => r.Entry).Last(r => r.Kind == "decision");
            Assert.Equal(opened.Portal!.Id, record.LinkId);
            return (record.Decision, record.RuleId);
        }

        Assert.Equal("delivered", (await Route("m1")).Decision);

        // A link that blocks toward mm now joins the two networks: the portal's messages toward mm are blocked too.
        w.Topology.ReplaceLinks([Ops, OneWay]);
        Assert.Equal(("blocked", "destination-block"), await Route("m2"));

        // No link joins them any more: nothing crosses (fail closed).
        w.Topology.ReplaceLinks([]);
        Assert.Equal(("blocked", DirectLinkPolicy.NoLinkRule), await Route("m3"));
    }

    /// <summary>A network edge that opens DMs by answering a fixed channel id, and records what it was asked.</summary>
    private sealed class DirectConnector(string networkId, string channel) : INetworkConnector, IDirectMessageConnector
    {
        public List<(string Local, string Remote)> Opened { get; } = [];

        /// <summary>The remote people as the core handed them to the opening.</summary>
        public List<PersonRef> Remotes { get; } = [];
        public List<string> InForce { get; } = [];

        /// <summary>When set, an opening for that local person waits here (with the token it was given).</summary>
        public Func<PersonRef, CancellationToken, Task>? Hold { get; set; }

        public string NetworkId => networkId;
        public NetworkKind Kind => NetworkKind.Matrix;
        public bool IsReady => true;

        public async Task<string> OpenDirectAsync(PersonRef local, PersonRef remote, CancellationToken cancellationToken)
        {
            if (Hold is { } hold)
            {
                await hold(local, cancellationToken);
            }

            lock (Opened)
            {
                Opened.Add((local.Key, remote.Key));
                Remotes.Add(remote);
            }

            return channel + "-" + remote.UserId;
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
