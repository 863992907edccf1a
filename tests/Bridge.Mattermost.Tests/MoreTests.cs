using System.Text.Json.Nodes;
using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Sandbox.Mattermost.Testing;

namespace Bridge.Mattermost.Tests;

public sealed class MoreTests
{
    [Fact]
    public async Task Guest_puppets_are_guests_in_the_linked_channel_only()
    {
        await using var h = await MmHarness.StartAsync(server: s => s.EnableGuestAccounts = true, options: o => o.GuestPuppets = true);
        var id = await h.DeliverTextAsync("a guest speaks");
        var puppet = h.Sandbox.GetUser(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).UserId);
        Assert.True(puppet.IsGuest);
        var offTopic = h.Sandbox.FindChannel("demo", "off-topic")!;
        Assert.False(h.Sandbox.IsChannelMember(offTopic.Id, puppet.Id));
    }

    [Fact]
    public async Task Guest_puppets_on_a_server_without_guests_are_never_created_the_message_waits_and_health_says_why()
    {
        // The sandbox has the real server's defaults: guest accounts off.
        await using var h = await MmHarness.StartAsync(options: o => o.GuestPuppets = true);
        var usersBefore = h.Sandbox.Users.Select(u => u.Id).ToHashSet();
        Assert.NotNull(h.Connector.DegradedReason); // told at start, before anything is sent
        Assert.Contains("guest accounts are off", h.Connector.DegradedReason, StringComparison.Ordinal);

        var result = await h.Connector.DeliverAsync(h.Request(MmHarness.Message("must not arrive as a full member")), CancellationToken.None);
        var wait = Assert.IsType<DeliveryResult.RetryLater>(result);
        Assert.Contains("guest accounts are off", wait.Reason, StringComparison.Ordinal);
        Assert.True(wait.CountsAsAttempt); // retried, then dead-lettered with this reason if guests never come
        Assert.DoesNotContain(h.Sandbox.GetPosts(h.Seed.Channel.Id), p => p.Message.Contains("must not arrive", StringComparison.Ordinal));
        Assert.Equal(usersBefore, h.Sandbox.Users.Select(u => u.Id).ToHashSet()); // no user was created, not even for a moment
        Assert.Contains(h.Logs.Entries, e => e.Id == MattermostLog.GuestUnavailable && e.Level == LogLevel.Error);

        // The operator switches guests on: the next attempt creates a guest puppet and health recovers.
        h.Sandbox.Settings.EnableGuestAccounts = true;
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(MmHarness.Message("now as a guest")), CancellationToken.None)).NativeId;
        Assert.True(h.Sandbox.GetUser(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).UserId).IsGuest);
        Assert.Null(h.Connector.DegradedReason);
    }

    [Fact]
    public async Task A_full_user_puppet_from_before_guestPuppets_is_not_used_as_a_full_member()
    {
        await using var h = await MmHarness.StartAsync();
        var id = await h.DeliverTextAsync("as a full user, guestPuppets off");
        var puppetId = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).UserId;
        await h.Connector.DisposeAsync();

        // The operator sets guestPuppets; the server still has no guests: the old puppet is not used.
        h.Options.GuestPuppets = true;
        await h.StartConnectorAsync();
        var refused = await h.Connector.DeliverAsync(h.Request(MmHarness.Message("after the switch")), CancellationToken.None);
        Assert.IsType<DeliveryResult.RetryLater>(refused);
        Assert.DoesNotContain(h.Sandbox.GetPosts(h.Seed.Channel.Id), p => p.Message.Contains("after the switch", StringComparison.Ordinal));

        // With guests on, the same puppet is demoted first, then used.
        h.Sandbox.Settings.EnableGuestAccounts = true;
        var next = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(MmHarness.Message("as a guest now")), CancellationToken.None));
        Assert.Equal(puppetId, h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == next.NativeId).UserId);
        Assert.True(h.Sandbox.GetUser(puppetId).IsGuest);
    }

    [Fact]
    public async Task A_real_user_with_the_official_client_sees_puppets_and_is_bridged()
    {
        await using var h = await MmHarness.StartAsync();
        var erin = h.Sandbox.CreateUser("erin", "Erin-Passw0rd");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, erin.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, erin.Id);
        await using var node = await NodeMattermostClient.StartAsync(h.Sandbox.BaseUrl);
        await node.LoginAsync("erin", "Erin-Passw0rd");
        await node.ConnectWebSocketAsync();

        var id = await h.DeliverTextAsync("hello erin, from matrix");
        var seen = await node.WaitEventAsync("posted", message: "hello erin, from matrix");
        Assert.Equal(id, seen!["data"]!["post"]!["id"]!.GetValue<string>());
        Assert.Matches("^@br-alice_adams-[a-z2-9]{5}$", seen["data"]!["sender_name"]!.GetValue<string>());

        var post = await node.CreatePostAsync(h.Seed.Channel.Id, "hello alice, from mattermost");
        var postId = post!["id"]!.GetValue<string>();
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == postId), "erin's post bridged");
        Assert.Equal("erin", h.Sink.Messages.Single(e => e.NativeId == postId).Sender.DisplayName);
        await node.AddReactionAsync(id, "tada");
        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Kind == BridgeEventKind.Reaction && e.TargetNativeId == id), "erin's reaction bridged");
        Assert.Equal("🎉", h.Sink.Accepted.Single(e => e.Kind == BridgeEventKind.Reaction).ReactionKey);
    }

    [Fact]
    public async Task Notices_reach_only_the_sender()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        var person = new PersonRef { NetworkId = MmHarness.Network, UserId = bob.Id, DisplayName = "bob" };
        await h.Connector.NotifySenderAsync(new ChannelRef(MmHarness.Network, MmHarness.DefaultChannel), person, "your message was not shared with org-b", CancellationToken.None);
        Assert.Contains(h.Sandbox.EphemeralMessages, m => m.UserId == bob.Id && m.Message == "your message was not shared with org-b");
        Assert.DoesNotContain(h.Sandbox.GetPosts(h.Seed.Channel.Id), p => p.Message.Contains("not shared", StringComparison.Ordinal));
    }

    [Fact]
    public void Factory_validation_names_the_offending_keys()
    {
        var factory = new MattermostConnectorFactory();
        var network = new NetworkDefinition { Id = "mm", Kind = NetworkKind.Mattermost };
        IConfigurationSection Section(Dictionary<string, string?> values) =>
            new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("networks:mm");

        var errors = factory.Validate(network, Section(new()
        {
            ["networks:mm:kind"] = "mattermost",
            ["networks:mm:mattermost:url"] = "not a url",
            ["networks:mm:mattermost:token"] = "",
        }));
        Assert.Contains(errors, e => e.Key == "networks:mm:mattermost:url");
        Assert.Contains(errors, e => e.Key == "networks:mm:mattermost:token");

        var apiUrl = factory.Validate(network, Section(new() { ["networks:mm:mattermost:url"] = "https://mm.example.org/api/v4", ["networks:mm:mattermost:token"] = "t" }));
        Assert.Contains(apiUrl, e => e.Key == "networks:mm:mattermost:url" && e.Message.Contains("without /api/v4", StringComparison.Ordinal));

        var unknown = factory.Validate(network, Section(new() { ["networks:mm:mattermost:url"] = "https://mm.example.org", ["networks:mm:mattermost:token"] = "t", ["networks:mm:mattermost:tokn"] = "x" }));
        Assert.Single(unknown);

        Assert.Empty(factory.Validate(network, Section(new()
        {
            ["networks:mm:mattermost:url"] = "https://mm.example.org",
            ["networks:mm:mattermost:token"] = "t",
            ["networks:mm:mattermost:puppetMode"] = "relay",
            ["networks:mm:mattermost:pingInterval"] = "00:00:20",
            ["networks:mm:mattermost:pongTimeout"] = "00:00:03",
        })));

        // A pong timeout so short that a busy server's answer would count as a dead connection is refused at start.
        var quick = factory.Validate(network, Section(new()
        {
            ["networks:mm:mattermost:url"] = "https://mm.example.org",
            ["networks:mm:mattermost:token"] = "t",
            ["networks:mm:mattermost:pongTimeout"] = "00:00:00.100",
        }));
        Assert.Contains(quick, e => e.Key == "networks:mm:mattermost:pongTimeout");
        var misspelt = factory.Validate(network, Section(new()
        {
            ["networks:mm:mattermost:url"] = "https://mm.example.org",
            ["networks:mm:mattermost:token"] = "t",
            ["networks:mm:mattermost:websocketPongTimeout"] = "00:00:03",
        }));
        Assert.Single(misspelt);
    }

    [Fact]
    public void The_pong_timeout_never_exceeds_the_ping_interval_so_pings_do_not_overlap()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), Bridge.Mattermost.Events.MattermostEventStream.PongTimeout(new MattermostOptions()));
        Assert.Equal(TimeSpan.FromSeconds(10), new MattermostOptions().PingInterval);
        Assert.Equal(TimeSpan.FromSeconds(2),
            Bridge.Mattermost.Events.MattermostEventStream.PongTimeout(new MattermostOptions { PingInterval = TimeSpan.FromSeconds(2) }));
    }

    [Fact]
    public async Task A_failed_ingest_is_caught_up_again()
    {
        await using var h = await MmHarness.StartAsync();
        h.Sink.FailNext = 1;
        var post = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "survives a failing store");
        var later = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "later");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post.Id) && h.Sink.Messages.Any(e => e.NativeId == later.Id), "both posts");
        Assert.Equal([post.Id, later.Id], h.Sink.Messages.Select(e => e.NativeId));
    }
}
