using Bridge.Core.Model;

namespace Bridge.Mattermost.Tests;

public sealed class InboundTests
{
    [Fact]
    public async Task Posts_edits_deletes_and_reactions_become_bridge_events()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);

        var post = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "hello bridge 😀 e\u0301");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post.Id), "posted");
        var ev = h.Sink.Messages.Single(e => e.NativeId == post.Id);
        Assert.Equal(MmHarness.DefaultChannel, ev.ChannelId); // the configured name, not the native id
        Assert.Equal("hello bridge 😀 e\u0301", ev.Text);
        Assert.Equal(bob.Id, ev.Sender.UserId);
        Assert.Equal("bob", ev.Sender.DisplayName);

        var reply = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "a reply", rootId: post.Id);
        h.Sandbox.EditPost(bob.Id, post.Id, "edited");
        h.Sandbox.React(bob.Id, post.Id, "+1");
        h.Sandbox.DeletePost(bob.Id, reply.Id);
        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Kind == BridgeEventKind.Delete), "delete");
        Assert.Equal(post.Id, h.Sink.Messages.Single(e => e.NativeId == reply.Id).ReplyToNativeId);
        var edit = h.Sink.Accepted.Single(e => e.Kind == BridgeEventKind.Edit);
        Assert.Equal(("edited", post.Id), (edit.Text, edit.TargetNativeId));
        var reaction = h.Sink.Accepted.Single(e => e.Kind == BridgeEventKind.Reaction);
        Assert.Equal(("👍", post.Id), (reaction.ReactionKey, reaction.TargetNativeId));
        Assert.Equal(reply.Id, h.Sink.Accepted.Single(e => e.Kind == BridgeEventKind.Delete).TargetNativeId);
        // System messages (joins) are never bridged.
        Assert.DoesNotContain(h.Sink.All, e => e.Text.Contains("joined the channel", StringComparison.Ordinal) || e.Text.Contains("added to the channel", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resume_after_a_dropped_socket_loses_and_doubles_nothing()
    {
        await using var h = await MmHarness.StartAsync();
        var before = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "before drop");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == before.Id), "first post");
        var connectionId = h.Connector.WebSocketConnectionId;
        Assert.NotNull(connectionId);

        h.Sandbox.DropWebSockets(keepResumeQueue: true);
        var missed = Enumerable.Range(0, 5).Select(i => h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, $"while away {i}")).ToList();
        await MmHarness.WaitUntilAsync(() => missed.All(p => h.Sink.Messages.Any(e => e.NativeId == p.Id)), "replayed posts");
        Assert.Equal(connectionId, h.Connector.WebSocketConnectionId); // resumed, no new hello
        var after = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "after resume");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == after.Id), "live post");

        var ids = h.Sink.Messages.Select(e => e.NativeId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal([before.Id, .. missed.Select(p => p.Id), after.Id], ids);
    }

    [Fact]
    public async Task When_the_server_cannot_resume_rest_catch_up_fills_the_gap()
    {
        await using var h = await MmHarness.StartAsync();
        var first = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "first");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == first.Id), "first");
        var connectionId = h.Connector.WebSocketConnectionId;

        h.Sandbox.DropWebSockets(keepResumeQueue: false);
        var missed = Enumerable.Range(0, 3).Select(i => h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, $"lost {i}")).ToList();
        h.Sandbox.EditPost(h.Seed.Admin.Id, first.Id, "first, edited while away");
        await MmHarness.WaitUntilAsync(() => missed.All(p => h.Sink.Messages.Any(e => e.NativeId == p.Id)), "caught-up posts");
        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Kind == BridgeEventKind.Edit && e.TargetNativeId == first.Id), "caught-up edit");
        Assert.NotEqual(connectionId, h.Connector.WebSocketConnectionId);

        var ids = h.Sink.Messages.Select(e => e.NativeId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal([first.Id, .. missed.Select(p => p.Id)], ids);
    }

    [Fact]
    public async Task A_gap_longer_than_the_servers_queue_is_caught_up()
    {
        await using var h = await MmHarness.StartAsync();
        h.Sandbox.DropWebSockets(keepResumeQueue: true);
        var flood = Enumerable.Range(0, 140).Select(i => h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, $"flood {i}")).ToList();
        await MmHarness.WaitUntilAsync(() => flood.All(p => h.Sink.Messages.Any(e => e.NativeId == p.Id)), "all 140 posts");
        var ids = h.Sink.Messages.Select(e => e.NativeId).ToList();
        Assert.Equal(flood.Select(p => p.Id), ids);
    }

    [Fact]
    public async Task Server_restart_is_survived_and_missed_posts_arrive()
    {
        await using var h = await MmHarness.StartAsync();
        await h.Sandbox.StopAsync();
        await MmHarness.WaitUntilAsync(() => !h.Connector.IsReady, "not ready while down");
        await h.Sandbox.StartAsync();
        var whileRestarting = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "posted right after restart");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == whileRestarting.Id), "post after restart");
        await MmHarness.WaitUntilAsync(() => h.Connector.IsReady, "ready again");
    }
}

public sealed class KeepaliveTests
{
    [Fact]
    public async Task A_silent_socket_is_detected_by_ping_and_resumed()
    {
        await using var h = await MmHarness.StartAsync(options: o => o.PingInterval = TimeSpan.FromSeconds(1));
        var connectionId = h.Connector.WebSocketConnectionId;
        h.Sandbox.FreezeWebSockets();
        var post = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "sent into a silent socket");
        // Both: the post's event can leave the server just before the freeze; the frozen socket is found dead anyway.
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post.Id)
            && h.Logs.Entries.Any(e => e.Id == MattermostLog.WebSocketDead && e.Message.Contains("found dead", StringComparison.Ordinal)),
            "post after keepalive reconnect, and the dead socket logged", timeoutMs: 20000);
        await MmHarness.WaitUntilAsync(() => h.Connector.IsReady, "connected again", timeoutMs: 20000);
        Assert.Equal(connectionId, h.Connector.WebSocketConnectionId); // resumed, not restarted
    }
}
