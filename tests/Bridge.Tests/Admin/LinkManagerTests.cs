using Bridge.Core.Configuration;
using Bridge.Core.Delivery;
using Bridge.Core.Links;
using Bridge.Core.Model;
using Bridge.Core.Storage;
using Bridge.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Admin;

/// <summary>Links changed at run time, through the real router, store and delivery worker (fake connectors at the edge).</summary>
public sealed class LinkManagerTests : IAsyncLifetime
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly CoreHarness _core = new(CoreHarness.TwoNetworks("room"));
    private LinkManager _links = null!;

    public async Task InitializeAsync()
    {
        await _core.Store.MigrateAsync(Ct);
        _links = NewManager(_core.Topology);
        await _links.LoadAsync(Ct);
    }

    public async Task DisposeAsync() => await _core.DisposeAsync();

    private LinkManager NewManager(BridgeTopology topology) =>
        new(topology, _core.Store, _core.Registry, _core.Signals, NullLogger<LinkManager>.Instance);

    private NetworkDeliveryWorker Worker(string network) =>
        new(_core.Connectors[network], _core.Store, _core.Signals, new DeliveryOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) },
            NullLogger.Instance, TimeProvider.System, senders: _core.Registry, topology: _core.Topology);

    private static LinkSpec Spec(bool paused = false, params (string Network, string Channel)[] endpoints) => new()
    {
        Endpoints = [.. endpoints.Select(e => new EndpointSpec { Network = e.Network, Channel = e.Channel })],
        Paused = paused,
    };

    [Fact]
    public async Task A_paused_link_holds_its_messages_and_resume_delivers_them_in_order()
    {
        await _links.CreateAsync("api", Spec(paused: true, ("a", "x"), ("b", "x")), "ops-alice", Ct);
        for (var i = 0; i < 3; i++)
        {
            await _core.Router.IngestAsync(CoreHarness.Message("a", "x", $"m{i}", $"held-{i}"), Ct);
        }

        var worker = Worker("b");
        await worker.RunOnceAsync(Ct);

        Assert.Empty(_core.Connectors["b"].Delivered);
        Assert.Equal(3, await _core.Store.CountPendingAsync("b", Ct));

        await _links.SetPausedAsync("api", false, "ops-alice", Ct);
        await worker.RunOnceAsync(Ct);

        Assert.Equal(["held-0", "held-1", "held-2"], _core.Connectors["b"].Delivered.Select(d => d.Event.Text));
        Assert.Equal(0, await _core.Store.CountPendingAsync("b", Ct));
    }

    [Fact]
    public async Task Removing_an_endpoint_dead_letters_its_pending_rows_and_the_connector_leaves_the_room()
    {
        await _links.CreateAsync("api", Spec(paused: true, ("a", "x"), ("b", "x"), ("b", "y")), "ops-alice", Ct);
        Assert.Contains(_core.Connectors["b"].ChannelChanges, c => c.Added.SequenceEqual(["x", "y"]));
        await _core.Router.IngestAsync(CoreHarness.Message("a", "x", "m1", "hello"), Ct);

        await _links.RemoveEndpointAsync("api", "b", "y", "ops-alice", Ct);

        var letter = Assert.Single(await _core.Store.GetDeadLettersAsync(10, Ct));
        Assert.Equal(new ChannelRef("b", "y"), letter.Destination);
        Assert.Equal("endpoint-removed: removed from link api through the admin API by ops-alice", letter.Reason);
        Assert.Contains(_core.Connectors["b"].ChannelChanges, c => c.Removed.SequenceEqual(["y"]));
        Assert.Equal(1, await _core.Store.CountPendingAsync("b", Ct));
        var audit = await _core.Store.ReadAuditAsync(0, null, 100, Ct);
        Assert.Contains(audit, r => r.Entry.Kind == "admin-change" && r.Entry.Decision == "endpoint-removed" && r.Entry.SourcePerson == "ops-alice");
    }

    [Fact]
    public async Task A_row_toward_an_endpoint_no_longer_in_its_link_is_dead_lettered_not_delivered()
    {
        await _links.CreateAsync("api", Spec(false, ("a", "x"), ("b", "x")), "ops-alice", Ct);
        var e = CoreHarness.Message("a", "x", "late", "late");
        // As if the router had read the links just before the endpoint went.
        await _core.Store.IngestAsync(e, [new OutboxDraft("api", new ChannelRef("b", "gone"), e, null)], [], Ct);

        await Worker("b").RunOnceAsync(Ct);

        Assert.Empty(_core.Connectors["b"].Delivered);
        Assert.StartsWith("endpoint-removed", Assert.Single(await _core.Store.GetDeadLettersAsync(10, Ct)).Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api", "nowhere", "x", 400, "endpoints[1].network")]
    [InlineData("api", "b", "room", 409, "endpoints[1].channel")]
    [InlineData("link-room", "b", "x", 409, "id")]
    [InlineData("Bad Id", "b", "x", 400, "id")]
    [InlineData("api", "b", " x", 400, "endpoints[1].channel")]
    public async Task Bad_input_is_refused_naming_the_field_and_nothing_is_applied(string id, string network, string channel, int status, string field)
    {
        var ex = await Assert.ThrowsAsync<LinkChangeException>(() => _links.CreateAsync(id, Spec(false, ("a", "x"), (network, channel)), "ops-alice", Ct));

        Assert.Equal(status, ex.Status);
        Assert.Equal(field, ex.Field);
        Assert.Empty(await _core.Store.GetLinksAsync(Ct));
        Assert.Equal(["link-room"], _core.Topology.Links.Select(l => l.Id));
        Assert.DoesNotContain(await _core.Store.ReadAuditAsync(0, null, 100, Ct), r => r.Entry.Kind == "admin-change");
    }

    [Fact]
    public async Task A_channel_the_server_refuses_is_a_400_naming_the_channel_and_the_joins_already_made_are_undone()
    {
        await _links.CreateAsync("api", Spec(false, ("a", "x"), ("b", "x")), "ops-alice", Ct);
        _core.Connectors["b"].JoinRefusal = c => c == "secret" ? "Mattermost refused to add the bridge account (403 api.context.permissions.app_error)" : null;

        var ex = await Assert.ThrowsAsync<LinkChangeException>(() => _links.UpdateAsync("api",
            s => s with { Endpoints = [.. s.Endpoints, new EndpointSpec { Network = "b", Channel = "y" }, new EndpointSpec { Network = "b", Channel = "secret" }] }, "ops-alice", Ct));

        Assert.Equal(400, ex.Status);
        Assert.Equal("endpoints[3].channel", ex.Field);
        Assert.Contains("403", ex.Message, StringComparison.Ordinal);
        // "y" was joined before "secret" was refused: left again; nothing stored, in force or audited.
        Assert.Contains("y", _core.Connectors["b"].JoinedBeforeLinking);
        Assert.Contains(_core.Connectors["b"].ChannelChanges, c => c.Removed.SequenceEqual(["y"]) && c.Added.Length == 0);
        Assert.Equal(2, _core.Topology.FindLink("api")!.Endpoints.Count);
        Assert.Equal(2, LinkSpec.FromJson(Assert.Single(await _core.Store.GetLinksAsync(Ct)).DefinitionJson).Endpoints.Count);
        Assert.DoesNotContain(await _core.Store.ReadAuditAsync(0, null, 100, Ct), r => r.Entry.Decision == "link-changed");

        _core.Connectors["b"].JoinRefusal = _ => throw new HttpRequestException("connection refused");
        var down = await Assert.ThrowsAsync<LinkChangeException>(() => _links.AddEndpointAsync("api", new EndpointSpec { Network = "b", Channel = "z" }, "ops-alice", Ct));
        Assert.Equal(503, down.Status);
        Assert.Equal("endpoints[2].channel", down.Field);
        Assert.Equal(2, _core.Topology.FindLink("api")!.Endpoints.Count);
    }

    [Fact]
    public async Task A_file_link_is_read_only_and_a_duplicate_id_is_a_conflict()
    {
        await _links.CreateAsync("api", Spec(false, ("a", "x"), ("b", "x")), "ops-alice", Ct);

        Assert.Equal(409, (await Assert.ThrowsAsync<LinkChangeException>(() => _links.SetPausedAsync("link-room", true, "ops-alice", Ct))).Status);
        Assert.Equal(409, (await Assert.ThrowsAsync<LinkChangeException>(() => _links.CreateAsync("api", Spec(false, ("a", "y"), ("b", "y")), "ops-alice", Ct))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<LinkChangeException>(() => _links.DeleteAsync("nope", "ops-alice", Ct))).Status);
        Assert.Equal(409, (await Assert.ThrowsAsync<LinkChangeException>(() => _links.RemoveEndpointAsync("api", "b", "x", "ops-alice", Ct))).Status);
    }

    [Fact]
    public async Task Stored_links_are_in_force_again_after_a_restart()
    {
        await _links.CreateAsync("api", Spec(true, ("a", "x"), ("b", "x")), "ops-alice", Ct);

        var fresh = CoreHarness.TwoNetworks("room");
        await NewManager(fresh).LoadAsync(Ct);

        var link = Assert.IsType<LinkDefinition>(fresh.FindLink("api"));
        Assert.True(link.Paused);
        Assert.Equal(LinkSource.Api, link.Source);
        Assert.Equal(["x"], fresh.HeldChannelsOf("b"));
        Assert.Contains("x", fresh.ChannelsOf("a"));
    }

    [Fact]
    public async Task A_direct_message_portal_cannot_be_changed_as_a_link_nor_its_channels_linked()
    {
        _core.Topology.ReplaceDirectLinks(
        [
            new LinkDefinition { Id = "dm-0123456789abcdef0123", Source = LinkSource.Direct, Endpoints = [new ChannelRef("a", "dm-a"), new ChannelRef("b", "dm-b")] },
        ]);

        async Task RefusedAsync(Func<Task> change)
        {
            var ex = await Assert.ThrowsAsync<LinkChangeException>(change);
            Assert.Equal(409, ex.Status);
        }

        await RefusedAsync(() => _links.DeleteAsync("dm-0123456789abcdef0123", "ops-alice", Ct));
        await RefusedAsync(() => _links.SetPausedAsync("dm-0123456789abcdef0123", true, "ops-alice", Ct));
        await RefusedAsync(() => _links.AddEndpointAsync("dm-0123456789abcdef0123", new EndpointSpec { Network = "b", Channel = "z" }, "ops-alice", Ct));
        await RefusedAsync(() => _links.RemoveEndpointAsync("dm-0123456789abcdef0123", "b", "dm-b", "ops-alice", Ct));
        await RefusedAsync(() => _links.UpdateAsync("dm-0123456789abcdef0123", s => s with { Paused = true }, "ops-alice", Ct));
        Assert.Equal(400, (await Assert.ThrowsAsync<LinkChangeException>(() => _links.CreateAsync("dm-0123456789abcdef0123", Spec(false, ("a", "x"), ("b", "x")), "ops-alice", Ct))).Status);
        // Two people's private chat never becomes an endpoint of a link.
        await RefusedAsync(() => _links.CreateAsync("grab", Spec(false, ("a", "x"), ("b", "dm-b")), "ops-alice", Ct));
        await _links.CreateAsync("ordinary", Spec(false, ("a", "y"), ("b", "y")), "ops-alice", Ct);
        await RefusedAsync(() => _links.AddEndpointAsync("ordinary", new EndpointSpec { Network = "a", Channel = "dm-a" }, "ops-alice", Ct));

        var portal = Assert.Single(_core.Topology.Links, l => l.Id == "dm-0123456789abcdef0123");
        Assert.Equal(LinkSource.Direct, portal.Source);
        Assert.False(portal.Paused);
        Assert.Equal(2, portal.Endpoints.Count);
    }

    [Fact]
    public async Task A_portal_out_of_force_still_keeps_its_channels_and_link_ids_never_take_the_portal_prefix()
    {
        // Stored but not in force (direct messages off on a side): the topology does not show it, the registry does.
        var portal = new LinkDefinition { Id = "dm-00000000000000000000", Source = LinkSource.Direct, Endpoints = [new ChannelRef("a", "dm-a"), new ChannelRef("b", "dm-b")] };
        var links = new LinkManager(_core.Topology, _core.Store, _core.Registry, _core.Signals, NullLogger<LinkManager>.Instance) { Portals = () => [portal] };
        await links.LoadAsync(Ct);

        var taken = await Assert.ThrowsAsync<LinkChangeException>(() => links.CreateAsync("grab", Spec(false, ("a", "x"), ("b", "dm-b")), "ops-alice", Ct));
        Assert.Equal(409, taken.Status);
        var prefix = await Assert.ThrowsAsync<LinkChangeException>(() => links.CreateAsync("dm-mine", Spec(false, ("a", "x"), ("b", "x")), "ops-alice", Ct));
        Assert.Equal(400, prefix.Status);
        await links.CreateAsync("fine", Spec(false, ("a", "x"), ("b", "x")), "ops-alice", Ct);
    }
}
