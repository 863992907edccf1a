using Bridge.Core.Connectors;
using Bridge.Core.Model;

namespace Bridge.Mattermost.Tests;

/// <summary>Reactions with set semantics on Mattermost: removal inbound (reaction_removed) and outbound (DELETE as the puppet).</summary>
public sealed class ReactionSetTests
{
    [Fact]
    public async Task A_removed_reaction_becomes_a_removal_and_a_second_add_is_not_a_duplicate()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        var post = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "react to me");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == post.Id), "posted");

        h.Sandbox.React(bob.Id, post.Id, "+1");
        h.Sandbox.React(bob.Id, post.Id, "tada");
        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Count(e => e.Kind == BridgeEventKind.Reaction) == 2, "two adds");
        h.Sandbox.Unreact(bob.Id, post.Id, "+1");
        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Kind == BridgeEventKind.ReactionRemoved), "the removal");
        var removal = h.Sink.Accepted.Single(e => e.Kind == BridgeEventKind.ReactionRemoved);
        Assert.Equal(("👍", post.Id, bob.Id), (removal.ReactionKey, removal.TargetNativeId, removal.Sender.UserId));

        // The same key again is a new add (not dropped as the first one's duplicate); the other key was never touched.
        await Task.Delay(5); // a later create_at than the first add
        h.Sandbox.React(bob.Id, post.Id, "+1");
        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Count(e => e.Kind == BridgeEventKind.Reaction) == 3, "the second add of +1");
        Assert.Single(h.Sink.Accepted, e => e.Kind == BridgeEventKind.ReactionRemoved);

        // A removal of a reaction that never existed (the server broadcasts it anyway) is not bridged.
        h.Sandbox.Unreact(bob.Id, post.Id, "rocket");
        var marker = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "marker");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == marker.Id), "marker");
        Assert.Single(h.Sink.Accepted, e => e.Kind == BridgeEventKind.ReactionRemoved);
    }

    [Fact]
    public async Task A_removal_from_elsewhere_deletes_only_the_puppets_reaction()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        var root = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "root");
        h.Sandbox.React(bob.Id, root.Id, "+1"); // bob's own 👍 stays

        var react = MmHarness.Message("") with { Kind = BridgeEventKind.Reaction, ReactionKey = "👍" };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(react, target: root.Id), CancellationToken.None));
        var heart = MmHarness.Message("") with { Kind = BridgeEventKind.Reaction, ReactionKey = "❤️" };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(heart, target: root.Id), CancellationToken.None));
        Assert.Equal(3, h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == root.Id).Reactions.Count);

        var unreact = MmHarness.Message("") with { Kind = BridgeEventKind.ReactionRemoved, ReactionKey = "👍" };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(unreact, target: root.Id), CancellationToken.None));
        var left = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == root.Id).Reactions;
        Assert.Equal(2, left.Count);
        Assert.Contains(left, r => r.UserId == bob.Id && r.EmojiName == "+1");
        Assert.Contains(left, r => r.UserId != bob.Id && r.EmojiName == "heart");

        // Taken back twice (a retry after the first was recorded): nothing to do.
        Assert.IsType<DeliveryResult.Skipped>(await h.Connector.DeliverAsync(h.Request(unreact, target: root.Id), CancellationToken.None));
    }
}
