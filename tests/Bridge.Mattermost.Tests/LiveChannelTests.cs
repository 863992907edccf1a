using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// Channels linked and unlinked at run time: the bridge account joins before the link is in force (a refusal is
/// reported, nothing joined), puppets post there, and everyone leaves an unlinked channel except town-square.
/// Memberships are repaired on a new WebSocket connection.
/// </summary>
public sealed class LiveChannelTests
{
    private static void Link(MmHarness h, params string[] extraChannels) =>
        h.Topology.ReplaceLinks(
        [
            new LinkDefinition { Id = "ops", Endpoints = [new ChannelRef(MmHarness.Network, h.LinkedChannel), new ChannelRef(MmHarness.Remote, "!room:example.org")] },
            .. extraChannels.Select((c, i) => new LinkDefinition { Id = $"live{i}", Endpoints = [new ChannelRef(MmHarness.Network, c), new ChannelRef(MmHarness.Remote, $"!live{i}:example.org")] }),
        ]);

    private static DeliveryRequest To(MmHarness h, string channel, string text) =>
        h.Request(MmHarness.Message(text)) with { Destination = new ChannelRef(MmHarness.Network, channel), LinkId = "live0" };

    [Fact]
    public async Task A_channel_linked_live_is_joined_carries_both_ways_and_is_left_when_unlinked()
    {
        await using var h = await MmHarness.StartAsync();
        var ops = h.Sandbox.CreateChannel(h.Seed.Team.Id, "live-ops", "Live Ops");
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(ops.Id, bob.Id);
        Assert.False(h.Sandbox.IsChannelMember(ops.Id, h.Seed.Admin.Id));

        Assert.Null(await h.Connector.JoinBeforeLinkingAsync("demo/live-ops", CancellationToken.None));
        Assert.True(h.Sandbox.IsChannelMember(ops.Id, h.Seed.Admin.Id));
        Link(h, "demo/live-ops");
        await h.Connector.ChannelsChangedAsync(["demo/live-ops"], [], CancellationToken.None);

        var delivered = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(To(h, "demo/live-ops", "into the live channel"), CancellationToken.None));
        var posted = h.Sandbox.GetPosts(ops.Id).Single(p => p.Id == delivered.NativeId);
        Assert.Equal("into the live channel", posted.Message);
        var puppetId = posted.UserId;
        Assert.True(h.Sandbox.IsChannelMember(ops.Id, puppetId));

        var fromBob = h.Sandbox.Post(bob.Id, ops.Id, "from the live channel");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == fromBob.Id), "inbound from the live channel");
        Assert.Equal("demo/live-ops", h.Sink.Messages.Single(e => e.NativeId == fromBob.Id).ChannelId);

        Link(h);
        await h.Connector.ChannelsChangedAsync([], ["demo/live-ops"], CancellationToken.None);
        Assert.False(h.Sandbox.IsChannelMember(ops.Id, h.Seed.Admin.Id));
        Assert.False(h.Sandbox.IsChannelMember(ops.Id, puppetId));
        Assert.IsType<DeliveryResult.Rejected>(await h.Connector.DeliverAsync(To(h, "demo/live-ops", "too late"), CancellationToken.None));
        var after = h.Sandbox.Post(bob.Id, ops.Id, "not bridged any more");
        var control = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "still bridged");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == control.Id), "the linked channel still flows");
        Assert.DoesNotContain(h.Sink.All, e => e.NativeId == after.Id);
    }

    [Fact]
    public async Task A_channel_the_server_refuses_is_reported_and_nothing_is_joined()
    {
        // A bridge account that is no system admin (relay mode) cannot add itself to a private channel.
        await using var h = await MmHarness.StartAsync(options: o => o.PuppetMode = PuppetMode.Relay, token: sb =>
        {
            var relay = sb.CreateUser("relayer");
            var team = sb.FindChannel("demo", "town-square")!;
            sb.AddToTeam(team.TeamId, relay.Id);
            sb.AddToChannel(team.Id, relay.Id);
            return sb.CreateAccessToken(relay.Id);
        });
        var secret = h.Sandbox.CreateChannel(h.Seed.Team.Id, "secret", "Secret", isPrivate: true);
        var relayer = h.Sandbox.FindUser("relayer")!;

        var refusal = await h.Connector.JoinBeforeLinkingAsync("demo/secret", CancellationToken.None);
        Assert.NotNull(refusal);
        Assert.Contains("not visible to the bridge account", refusal, StringComparison.Ordinal); // a private channel is hidden from non-members
        Assert.False(h.Sandbox.IsChannelMember(secret.Id, relayer.Id));

        var missing = await h.Connector.JoinBeforeLinkingAsync("demo/no-such-channel", CancellationToken.None);
        Assert.Contains("not found", missing, StringComparison.Ordinal);

        // A public channel it may join itself.
        var open = h.Sandbox.CreateChannel(h.Seed.Team.Id, "open", "Open");
        Assert.Null(await h.Connector.JoinBeforeLinkingAsync("demo/open", CancellationToken.None));
        Assert.True(h.Sandbox.IsChannelMember(open.Id, relayer.Id));
    }

    [Fact]
    public async Task Town_square_unlinked_is_not_left()
    {
        await using var h = await MmHarness.StartAsync(channel: "demo/ops", seedChannel: "ops");
        var townSquare = h.Sandbox.FindChannel("demo", "town-square")!;
        Assert.Null(await h.Connector.JoinBeforeLinkingAsync("demo/town-square", CancellationToken.None));
        Link(h, "demo/town-square");
        await h.Connector.ChannelsChangedAsync(["demo/town-square"], [], CancellationToken.None);
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(To(h, "demo/town-square", "hello square"), CancellationToken.None));
        var puppetId = h.Sandbox.GetPosts(townSquare.Id).Single(p => p.Id == delivered.NativeId).UserId;

        Link(h);
        await h.Connector.ChannelsChangedAsync([], ["demo/town-square"], CancellationToken.None);
        Assert.True(h.Sandbox.IsChannelMember(townSquare.Id, h.Seed.Admin.Id));
        Assert.True(h.Sandbox.IsChannelMember(townSquare.Id, puppetId));
        Assert.IsType<DeliveryResult.Rejected>(await h.Connector.DeliverAsync(To(h, "demo/town-square", "too late"), CancellationToken.None));
    }

    [Fact]
    public async Task A_bridge_account_removed_while_disconnected_rejoins_on_the_new_connection()
    {
        await using var h = await MmHarness.StartAsync(channel: "demo/ops", seedChannel: "ops");
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);

        h.Sandbox.RemoveFromChannel(h.Seed.Channel.Id, h.Seed.Admin.Id);
        h.Sandbox.DropWebSockets(keepResumeQueue: false);
        await MmHarness.WaitUntilAsync(() => h.Sandbox.IsChannelMember(h.Seed.Channel.Id, h.Seed.Admin.Id), "the bridge account back in the channel");
        // The repair is logged once the server has answered, which can be a moment after the membership shows.
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Any(e => e.Id == MattermostLog.MembershipRepaired), "the repair logged");

        var post = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "heard again");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post.Id), "events of the channel again");
    }

    [Fact]
    public async Task What_was_written_while_a_channel_was_unlinked_never_crosses_when_it_is_linked_again()
    {
        // Town-square, which the bridge account never leaves: no join notice moves the cursor when it is linked again.
        await using var h = await MmHarness.StartAsync(channel: "demo/ops", seedChannel: "ops", options: o => o.CatchUpSkew = TimeSpan.FromMilliseconds(1));
        var ops = h.Sandbox.FindChannel("demo", "town-square")!;
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        if (!h.Sandbox.IsChannelMember(ops.Id, bob.Id))
        {
            h.Sandbox.AddToChannel(ops.Id, bob.Id);
        }
        Assert.Null(await h.Connector.JoinBeforeLinkingAsync("demo/town-square", CancellationToken.None));
        Link(h, "demo/town-square");
        await h.Connector.ChannelsChangedAsync(["demo/town-square"], [], CancellationToken.None);
        var before = h.Sandbox.Post(bob.Id, ops.Id, "while linked");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == before.Id), "the post while linked");

        Link(h);
        await h.Connector.ChannelsChangedAsync([], ["demo/town-square"], CancellationToken.None);
        await Task.Delay(50);
        var unlinked = h.Sandbox.Post(bob.Id, ops.Id, "written while not bridged");
        await Task.Delay(50);

        Assert.Null(await h.Connector.JoinBeforeLinkingAsync("demo/town-square", CancellationToken.None));
        Link(h, "demo/town-square");
        await h.Connector.ChannelsChangedAsync(["demo/town-square"], [], CancellationToken.None);
        // A new connection catches every linked channel up from its cursor.
        var catchUps = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        h.Sandbox.DropWebSockets(keepResumeQueue: false);
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > catchUps, "the catch-up after the new connection", 30000);
        var after = h.Sandbox.Post(bob.Id, ops.Id, "linked again");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == after.Id), "the post after linking again");

        Assert.DoesNotContain(h.Sink.All, e => e.NativeId == unlinked.Id);
    }

    [Fact]
    public async Task A_channel_linked_under_one_name_is_refused_under_another()
    {
        await using var h = await MmHarness.StartAsync();
        var ops = h.Sandbox.CreateChannel(h.Seed.Team.Id, "two-names", "Two Names");
        Assert.Null(await h.Connector.JoinBeforeLinkingAsync("demo/two-names", CancellationToken.None));
        Link(h, "demo/two-names");
        await h.Connector.ChannelsChangedAsync(["demo/two-names"], [], CancellationToken.None);

        // Its 26-character id names the same channel: heard under one name only, so refused under the other.
        var refusal = await h.Connector.JoinBeforeLinkingAsync(ops.Id, CancellationToken.None);
        Assert.NotNull(refusal);
        Assert.Contains("demo/two-names", refusal, StringComparison.Ordinal);
        // The default link's channel by its id, too.
        Assert.NotNull(await h.Connector.JoinBeforeLinkingAsync(h.Seed.Channel.Id, CancellationToken.None));
    }
}
