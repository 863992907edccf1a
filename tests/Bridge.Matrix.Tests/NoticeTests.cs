using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;
using Bridge.Testing;

namespace Bridge.Matrix.Tests;

/// <summary>Policy notices reach only the person: in a direct room with the bridge bot, never in the shared room.</summary>
public sealed class NoticeTests
{
    [Fact]
    public async Task A_notice_lands_in_a_direct_room_that_is_created_once_and_reused_and_the_shared_room_gets_nothing()
    {
        await using var h = await BridgeHarness.StartAsync();
        var alice = new PersonRef { NetworkId = BridgeHarness.Network, UserId = h.Alice.UserId, DisplayName = "Alice Liddell" };
        var channel = new ChannelRef(BridgeHarness.Network, BridgeHarness.Channel);
        var sharedBefore = h.Sandbox.GetTimeline(h.RoomId).Count;

        await h.Connector.NotifySenderAsync(channel, alice, "Your message was not shared with network 'xmpp' (rule: clearance).", CancellationToken.None);

        // The bot's m.direct names exactly one room for Alice, and it is not the shared room.
        var direct = h.Sandbox.GetAccountData(BridgeHarness.Bot, "m.direct");
        Assert.NotNull(direct);
        var dm = Assert.Single(direct[h.Alice.UserId]!.AsArray())!.GetValue<string>();
        Assert.NotEqual(h.RoomId, dm);

        // A private room of two: the bot joined, Alice invited with is_direct; nobody else.
        Assert.Equal([BridgeHarness.Bot], h.Sandbox.GetMembers(dm));
        Assert.Equal([h.Alice.UserId], h.Sandbox.GetMembers(dm, "invite"));
        var invite = h.Sandbox.GetTimeline(dm).Single(e => e["type"]!.GetValue<string>() == "m.room.member" && e["state_key"]!.GetValue<string>() == h.Alice.UserId);
        Assert.True(invite["content"]!["is_direct"]!.GetValue<bool>());
        var joinRule = h.Sandbox.GetTimeline(dm).Single(e => e["type"]!.GetValue<string>() == "m.room.join_rules");
        Assert.Equal("invite", joinRule["content"]!["join_rule"]!.GetValue<string>());

        var notice = Assert.Single(h.Sandbox.GetMessages(dm));
        Assert.Equal(BridgeHarness.Bot, notice["sender"]!.GetValue<string>());
        Assert.Equal("m.notice", notice["content"]!["msgtype"]!.GetValue<string>());
        Assert.Equal("Your message was not shared with network 'xmpp' (rule: clearance).", notice["content"]!["body"]!.GetValue<string>());

        // Alice accepts; the second notice reuses the same room.
        h.Sandbox.Join(dm, h.Alice.UserId);
        await h.Connector.NotifySenderAsync(channel, alice, "second", CancellationToken.None);
        Assert.Equal(["Your message was not shared with network 'xmpp' (rule: clearance).", "second"],
            h.Sandbox.GetMessages(dm).Select(m => m["content"]!["body"]!.GetValue<string>()));
        Assert.Single(h.Sandbox.GetAccountData(BridgeHarness.Bot, "m.direct")![h.Alice.UserId]!.AsArray());

        // Nothing at all was added to the shared room.
        Assert.Equal(sharedBefore, h.Sandbox.GetTimeline(h.RoomId).Count);
        Assert.Equal(dm, await h.State.GetAsync("matrix:" + BridgeHarness.Network + ":notice-rooms", h.Alice.UserId, CancellationToken.None));
    }

    [Fact]
    public async Task After_a_restart_the_remembered_direct_room_is_reused()
    {
        await using var h = await BridgeHarness.StartAsync();
        var alice = new PersonRef { NetworkId = BridgeHarness.Network, UserId = h.Alice.UserId, DisplayName = "Alice" };
        var channel = new ChannelRef(BridgeHarness.Network, BridgeHarness.Channel);
        await h.Connector.NotifySenderAsync(channel, alice, "one", CancellationToken.None);
        var dm = h.Sandbox.GetAccountData(BridgeHarness.Bot, "m.direct")![h.Alice.UserId]![0]!.GetValue<string>();

        // A second connector over the same state store (a restarted daemon) tells Alice in the same room.
        await using var restarted = BridgeHarness.CreateConnector(h.Sandbox.BaseUrl, new RecordingSink(), h.State);
        await restarted.StartAsync(CancellationToken.None);
        await BridgeHarness.WaitUntilAsync(() => restarted.IsReady);
        await restarted.NotifySenderAsync(channel, alice, "two", CancellationToken.None);
        Assert.Equal(["one", "two"], h.Sandbox.GetMessages(dm).Select(m => m["content"]!["body"]!.GetValue<string>()));
        Assert.Single(h.Sandbox.GetAccountData(BridgeHarness.Bot, "m.direct")![h.Alice.UserId]!.AsArray());
        Assert.Empty(h.Sandbox.GetMessages(h.RoomId));
    }

    [Fact]
    public async Task When_the_bot_is_no_longer_in_the_direct_room_a_new_one_is_opened_never_the_shared_room()
    {
        await using var h = await BridgeHarness.StartAsync();
        var alice = new PersonRef { NetworkId = BridgeHarness.Network, UserId = h.Alice.UserId, DisplayName = "Alice" };
        var channel = new ChannelRef(BridgeHarness.Network, BridgeHarness.Channel);
        await h.Connector.NotifySenderAsync(channel, alice, "one", CancellationToken.None);
        var first = h.Sandbox.GetAccountData(BridgeHarness.Bot, "m.direct")![h.Alice.UserId]![0]!.GetValue<string>();
        h.Sandbox.Leave(first, BridgeHarness.Bot);

        await h.Connector.NotifySenderAsync(channel, alice, "two", CancellationToken.None);
        var rooms = h.Sandbox.GetAccountData(BridgeHarness.Bot, "m.direct")![h.Alice.UserId]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
        var second = rooms[^1];
        Assert.NotEqual(first, second);
        Assert.NotEqual(h.RoomId, second);
        Assert.Equal(["two"], h.Sandbox.GetMessages(second).Select(m => m["content"]!["body"]!.GetValue<string>()));
        Assert.Equal(second, await h.State.GetAsync("matrix:" + BridgeHarness.Network + ":notice-rooms", h.Alice.UserId, CancellationToken.None));
        Assert.Empty(h.Sandbox.GetMessages(h.RoomId));
    }
}
