using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost.Tests;

public sealed class RelayModeTests
{
    [Fact]
    public async Task Tokens_forbidden_means_relay_mode_with_override_username()
    {
        await using var h = await MmHarness.StartAsync(server: s => s.EnableUserAccessTokens = false);
        Assert.True(h.Connector.RelayMode);
        Assert.Contains(h.Logs.Entries, e => e.Level == LogLevel.Warning && e.Id == MattermostLog.RelayMode && e.Message.Contains("RELAY MODE", StringComparison.Ordinal)
                                             && e.Message.Contains("EnableUserAccessTokens", StringComparison.Ordinal));

        var id = await h.DeliverTextAsync("relayed hello");
        var post = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id);
        var relay = h.Sandbox.GetUser(post.UserId);
        Assert.True(relay.IsBot);
        Assert.Equal("bridge-relay", relay.Username);
        Assert.Equal("Alice Ädams", post.Props.Str("override_username"));
        Assert.Equal("true", post.Props.Str("from_webhook"));
        Assert.Equal("Alice Ädams", post.DisplayedAuthorName);
        Assert.Equal("relayed hello", post.Message);
        Assert.DoesNotContain(h.Sandbox.Users, u => u.Username.StartsWith("br-", StringComparison.Ordinal)); // no puppet users

        // Reactions need a person's own token: skipped, not failed.
        var react = MmHarness.Message("") with { Kind = BridgeEventKind.Reaction, ReactionKey = "👍" };
        Assert.IsType<DeliveryResult.Skipped>(await h.Connector.DeliverAsync(h.Request(react, target: id), CancellationToken.None));

        // The relay's own posts are not bridged back.
        var marker = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "marker");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == marker.Id), "marker");
        Assert.DoesNotContain(h.Sink.All, e => e.NativeId == id);
    }

    [Fact]
    public async Task Without_username_override_the_name_goes_into_the_text()
    {
        await using var h = await MmHarness.StartAsync(server: s =>
        {
            s.EnableUserAccessTokens = false;
            s.EnablePostUsernameOverride = false;
        });
        var id = await h.DeliverTextAsync("plain relay");
        var post = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id);
        Assert.Equal("**Alice Ädams**: plain relay", post.Message);
    }

    [Fact]
    public async Task Tokens_switched_off_later_fall_back_to_relay_at_first_need()
    {
        await using var h = await MmHarness.StartAsync();
        Assert.False(h.Connector.RelayMode);
        h.Sandbox.Settings.EnableUserAccessTokens = false;
        var id = await h.DeliverTextAsync("after the switch");
        Assert.True(h.Connector.RelayMode);
        Assert.Equal("Alice Ädams", h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).DisplayedAuthorName);
    }
}
