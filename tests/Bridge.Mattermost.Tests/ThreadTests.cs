using Bridge.Core.Connectors;

namespace Bridge.Mattermost.Tests;

/// <summary>Mattermost threads (root_id) in and out: a reply in a thread names its root, a thread message lands under the root.</summary>
public sealed class ThreadTests
{
    [Fact]
    public async Task A_reply_in_a_thread_names_its_root_and_a_top_level_post_names_none()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        var root = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "root");
        var reply = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "in the thread", rootId: root.Id);
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == reply.Id), "reply");

        var inThread = h.Sink.Messages.Single(e => e.NativeId == reply.Id);
        Assert.Equal((root.Id, root.Id), (inThread.ThreadRootNativeId, inThread.ReplyToNativeId));
        var top = h.Sink.Messages.Single(e => e.NativeId == root.Id);
        Assert.Null(top.ThreadRootNativeId);
    }

    [Fact]
    public async Task A_thread_message_lands_under_the_root_even_when_it_answers_a_later_reply()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        var root = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "root");
        var other = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "another top-level post");

        // The thread root decides, not the message replied to (a Matrix thread message's fallback may name any event).
        var request = h.Request(MmHarness.Message("threaded"), replyTo: other.Id) with { ThreadRootNativeId = root.Id };
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None)).NativeId;
        Assert.Equal(root.Id, h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).RootId);

        // A root that is itself a reply (a Matrix thread rooted at a bridged reply) is flattened to the Mattermost root.
        var nested = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "reply", rootId: root.Id);
        var second = h.Request(MmHarness.Message("threaded again")) with { ThreadRootNativeId = nested.Id };
        var secondId = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(second, CancellationToken.None)).NativeId;
        Assert.Equal(root.Id, h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == secondId).RootId);
    }

    [Fact]
    public async Task A_post_whose_root_the_server_refuses_is_posted_outside_the_thread_instead_of_lost()
    {
        await using var h = await MmHarness.StartAsync();
        var other = h.Sandbox.CreateChannel(h.Seed.Team.Id, "other", "Other");
        h.Sandbox.AddToChannel(other.Id, h.Seed.Admin.Id);
        var elsewhere = h.Sandbox.Post(h.Seed.Admin.Id, other.Id, "a root in another channel");

        var request = h.Request(MmHarness.Message("still arrives")) with { ThreadRootNativeId = elsewhere.Id };
        var id = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(request, CancellationToken.None)).NativeId;
        var post = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id);
        Assert.Equal(("still arrives", ""), (post.Message, post.RootId));
    }
}
