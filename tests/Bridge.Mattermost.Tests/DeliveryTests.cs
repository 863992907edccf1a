using Bridge.Core.Text;
using System.Globalization;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Mattermost.Text;

namespace Bridge.Mattermost.Tests;

public sealed class DeliveryTests
{
    [Fact]
    public async Task A_remote_person_posts_as_their_own_puppet_user()
    {
        await using var h = await MmHarness.StartAsync();
        var id = await h.DeliverTextAsync("hello from matrix");
        var post = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id);
        var puppet = h.Sandbox.GetUser(post.UserId);
        Assert.Matches("^br-alice_adams-[a-z2-9]{5}$", puppet.Username);
        Assert.Equal("Alice Ädams", puppet.FirstName);
        Assert.EndsWith("@localhost", puppet.Email, StringComparison.Ordinal);
        Assert.False(puppet.IsBot);
        Assert.Equal("hello from matrix", post.Message);
        Assert.Equal(MmHarness.Remote, post.Props.Str("bridge_origin"));
        Assert.True(h.Sandbox.IsChannelMember(h.Seed.Channel.Id, puppet.Id));
        Assert.True(h.Connector.IsBridgeUser(puppet.Id));

        // Same person again: same puppet. The echo of our own post never comes back in.
        var second = await h.DeliverTextAsync("second");
        Assert.Equal(puppet.Id, h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == second).UserId);
        var marker = h.Sandbox.Post(h.Seed.Admin.Id, h.Seed.Channel.Id, "marker");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == marker.Id), "marker");
        Assert.DoesNotContain(h.Sink.All, e => e.NativeId == id || e.NativeId == second);

        // A name collision with a real account gets a suffix; a display name change follows the person.
        var bobPerson = MmHarness.Person("Bob", "@bob:example.org");
        h.Sandbox.CreateUser(Bridge.Mattermost.Puppets.PuppetNaming.Username("br-", bobPerson));
        var bobPostId = await h.DeliverTextAsync("hi", bobPerson);
        Assert.Equal(Bridge.Mattermost.Puppets.PuppetNaming.Username("br-", bobPerson, attempt: 1),
            h.Sandbox.GetUser(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == bobPostId).UserId).Username);
        await h.DeliverTextAsync("renamed", MmHarness.Person("Alice A. Adams"));
        Assert.Equal("Alice A. Adams", h.Sandbox.GetUser(puppet.Id).FirstName);
    }

    [Fact]
    public async Task Edits_deletes_replies_and_reactions_act_as_the_puppet()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        var root = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "root");
        var firstReply = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "reply", rootId: root.Id);

        var person = MmHarness.Person();
        var replyResult = await h.Connector.DeliverAsync(h.Request(MmHarness.Message("nested reply"), replyTo: firstReply.Id), CancellationToken.None);
        var replyId = Assert.IsType<DeliveryResult.Delivered>(replyResult).NativeId;
        Assert.Equal(root.Id, h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == replyId).RootId); // flattened to the root

        var edit = MmHarness.Message("nested reply, edited") with { Kind = BridgeEventKind.Edit };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(edit, target: replyId), CancellationToken.None));
        var edited = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == replyId);
        Assert.Equal("nested reply, edited", edited.Message);
        Assert.Equal(MmHarness.Remote, edited.Props.Str("bridge_origin")); // PATCH keeps the tag

        var react = MmHarness.Message("") with { Kind = BridgeEventKind.Reaction, ReactionKey = "👍" };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(react, target: root.Id), CancellationToken.None));
        var reaction = Assert.Single(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == root.Id).Reactions);
        Assert.Equal("+1", reaction.EmojiName);
        Assert.Equal(edited.UserId, reaction.UserId);

        var delete = MmHarness.Message("") with { Kind = BridgeEventKind.Delete };
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(delete, target: replyId), CancellationToken.None));
        Assert.True(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == replyId).IsDeleted);

        // None of it echoes back in.
        var marker = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "marker");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == marker.Id), "marker");
        Assert.DoesNotContain(h.Sink.All, e => e.Sender.UserId == edited.UserId);
    }

    [Fact]
    public async Task An_edit_longer_than_a_post_is_cut_to_the_limit_and_the_sender_is_told()
    {
        await using var h = await MmHarness.StartAsync();
        var id = await h.DeliverTextAsync("short");
        var edit = MmHarness.Message(string.Join(' ', Enumerable.Repeat("word", 5000))) with { Kind = BridgeEventKind.Edit };
        var result = Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(edit, target: id), CancellationToken.None));
        Assert.Equal("Your edit was too long for network 'mm': only its first 16383 characters were delivered there.", result.SenderNotice);
        Assert.True(MessageSplitter.CodePoints(h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).Message) <= 16383);

        var small = MmHarness.Message("short again") with { Kind = BridgeEventKind.Edit };
        Assert.Null(Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(small, target: id), CancellationToken.None)).SenderNotice);
    }

    [Fact]
    public async Task A_20000_character_message_is_split_at_code_points()
    {
        await using var h = await MmHarness.StartAsync();
        var unit = "Größe 😀 e\u0301 👍🏽 "; // accents, an emoji, a combining mark, an emoji with a skin tone
        var text = string.Concat(Enumerable.Repeat(unit, 20000 / unit.Length + 1))[..20000];
        if (char.IsHighSurrogate(text[^1]))
        {
            text = text[..^1];
        }
        var id = await h.DeliverTextAsync(text);
        var posts = h.Sandbox.GetPosts(h.Seed.Channel.Id).Where(p => p.Props.Str("bridge_origin") == MmHarness.Remote).ToList();
        Assert.Equal(2, posts.Count);
        Assert.Equal(id, posts[0].Id);
        Assert.All(posts, p => Assert.True(MessageSplitter.CodePoints(p.Message) <= 16383));
        Assert.All(posts, p => Assert.False(char.IsLowSurrogate(p.Message[0]) || char.IsHighSurrogate(p.Message[^1])));
        Assert.NotEqual(UnicodeCategory.NonSpacingMark, CharUnicodeInfo.GetUnicodeCategory(posts[1].Message[0]));
        // Cut at a space, which ends the first part: the parts concatenate to the original.
        Assert.EndsWith(" ", posts[0].Message, StringComparison.Ordinal);
        Assert.Equal(text, posts[0].Message + posts[1].Message);
        Assert.Equal(["1/2", "2/2"], posts.Select(p => p.Props.Str("bridge_part")));
    }

    [Fact]
    public async Task Channel_wide_mentions_from_remote_people_are_neutralised()
    {
        await using var h = await MmHarness.StartAsync();
        var id = await h.DeliverTextAsync("@all @channel and @here: meeting now, ask @admin");
        var message = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == id).Message;
        Assert.DoesNotMatch(@"(?i)@(all|channel|here)\b", message);
        Assert.Contains("@admin", message, StringComparison.Ordinal); // personal mentions still work
        Assert.Equal("@all @channel and @here: meeting now, ask @admin", message.Replace("\u2060", "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retries_never_double_post()
    {
        await using var h = await MmHarness.StartAsync();
        var ev = MmHarness.Message("exactly once");
        var first = await h.Connector.DeliverAsync(h.Request(ev, outboxId: 77), CancellationToken.None);
        // The answer was "lost" and the core tries again later, after a server restart: the server's pending_post_id
        // memory is gone, so only the bridge's own look-up can prevent a second post.
        await h.Sandbox.RestartAsync();
        await MmHarness.WaitUntilAsync(() => h.Connector.IsReady, "reconnected");
        var again = await h.Connector.DeliverAsync(h.Request(ev, outboxId: 77, attempt: 1), CancellationToken.None);
        Assert.Equal(Assert.IsType<DeliveryResult.Delivered>(first).NativeId, Assert.IsType<DeliveryResult.Delivered>(again).NativeId);
        Assert.Single(h.Sandbox.GetPosts(h.Seed.Channel.Id), p => p.Message == "exactly once");
    }

    [Fact]
    public async Task Rate_limits_are_waited_out()
    {
        await using var h = await MmHarness.StartAsync();
        await h.DeliverTextAsync("warm up"); // creates the puppet before limiting starts
        h.Sandbox.Settings.RateLimitPerSec = 2;
        h.Sandbox.Settings.RateLimitMaxBurst = 1;
        h.Sandbox.Settings.RateLimitEnable = true;
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await h.DeliverTextAsync($"limited {i}"));
        }
        h.Sandbox.Settings.RateLimitEnable = false;
        var posts = h.Sandbox.GetPosts(h.Seed.Channel.Id).Where(p => p.Message.StartsWith("limited", StringComparison.Ordinal)).ToList();
        Assert.Equal(ids, posts.Select(p => p.Id));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"limited {i}"), posts.Select(p => p.Message));
        Assert.Contains(h.Logs.Entries, e => e.Id == MattermostLog.HttpRetry && e.Message.Contains("TooManyRequests", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_long_rate_limit_goes_back_to_the_queue()
    {
        await using var h = await MmHarness.StartAsync(options: o => o.MaxInlineRateLimitWait = TimeSpan.FromMilliseconds(100));
        await h.DeliverTextAsync("warm up");
        h.Sandbox.Settings.RateLimitPerSec = 1;
        h.Sandbox.Settings.RateLimitMaxBurst = 0;
        h.Sandbox.Settings.RateLimitEnable = true;
        DeliveryResult? result = null;
        for (var i = 0; i < 5 && result is not DeliveryResult.RetryLater; i++)
        {
            result = await h.Connector.DeliverAsync(h.Request(MmHarness.Message($"burst {i}")), CancellationToken.None);
        }
        var retry = Assert.IsType<DeliveryResult.RetryLater>(result);
        Assert.True(retry.After >= TimeSpan.FromSeconds(1));
        // The server's limit, not the message's fault: the whole network waits, and it never counts toward dead-lettering.
        Assert.Equal(Bridge.Core.Connectors.NetworkFault.RateLimited, retry.Fault);
        Assert.False(retry.Counts);
    }
}

internal static class JsonTestExtensions
{
    public static string Str(this System.Text.Json.Nodes.JsonObject node, string name) => node[name]?.GetValue<string>() ?? "";
}

public sealed class MembershipTests
{
    [Fact]
    public async Task A_puppet_removed_from_the_channel_joins_again()
    {
        // Not town-square: nobody can be removed from a team's default channel.
        await using var h = await MmHarness.StartAsync(server: s => s.EnablePostUsernameOverride = true, channel: "demo/ops", seedChannel: "ops");
        var first = await h.DeliverTextAsync("first");
        var puppetId = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == first).UserId;
        // Only members post (the server refuses a team member outside the channel).
        h.Sandbox.RemoveFromChannel(h.Seed.Channel.Id, puppetId);
        var result = await h.Connector.DeliverAsync(h.Request(MmHarness.Message("second")), CancellationToken.None);
        Assert.IsType<Bridge.Core.Connectors.DeliveryResult.RetryLater>(result);
        var again = await h.Connector.DeliverAsync(h.Request(MmHarness.Message("second")), CancellationToken.None);
        Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Delivered>(again);
        Assert.True(h.Sandbox.IsChannelMember(h.Seed.Channel.Id, puppetId));
    }
}

/// <summary>
/// Posts a killed run made but never reported (crash storm, issue 13): after the restart they are found, not posted
/// again, with one read of the channel for the whole backlog and none for rows this run queued.
/// </summary>
public sealed class PostsFromEarlierRunsTests
{
    [Fact]
    public async Task A_post_a_killed_run_made_but_never_recorded_is_not_posted_again()
    {
        await using var h = await MmHarness.StartAsync();
        var ev = MmHarness.Message("posted by the killed run");
        var queuedAt = DateTimeOffset.UtcNow;
        var first = await h.Connector.DeliverAsync(h.Request(ev, outboxId: 41, queuedAt: queuedAt), CancellationToken.None);
        // Killed before the core recorded it; the server's 30-second pending_post_id memory is gone (restarted here).
        await RestartBothAsync(h);
        var again = await h.Connector.DeliverAsync(h.Request(ev, outboxId: 41, queuedAt: queuedAt), CancellationToken.None);
        Assert.Equal(Assert.IsType<DeliveryResult.Delivered>(first).NativeId, Assert.IsType<DeliveryResult.Delivered>(again).NativeId);
        Assert.Single(h.Sandbox.GetPosts(h.Seed.Channel.Id), p => p.Message == "posted by the killed run");
    }

    [Fact]
    public async Task A_backlog_from_before_the_restart_is_checked_with_one_read_and_rows_queued_since_with_none()
    {
        var reads = new SinceReads();
        await using var h = await MmHarness.StartAsync();
        h.Handler = () => reads.Handler();
        var queuedAt = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, 30).Select(i => MmHarness.Message($"backlog {i}")).ToList();
        for (var i = 0; i < 10; i++)
        {
            Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(events[i], outboxId: 100 + i, queuedAt: queuedAt), CancellationToken.None));
        }

        await RestartBothAsync(h);
        await Task.Delay(500); // the start's own catch-up reads posts?since too: counted from here on
        var before = reads.Count;
        for (var i = 0; i < 30; i++)
        {
            Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(events[i], outboxId: 100 + i, queuedAt: queuedAt), CancellationToken.None));
        }

        Assert.Equal(1, reads.Count - before);
        for (var i = 0; i < 5; i++)
        {
            Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(
                h.Request(MmHarness.Message($"new {i}"), outboxId: 200 + i, queuedAt: DateTimeOffset.UtcNow), CancellationToken.None));
        }

        Assert.Equal(1, reads.Count - before);
        var posts = h.Sandbox.GetPosts(h.Seed.Channel.Id);
        Assert.All(Enumerable.Range(0, 30), i => Assert.Single(posts, p => p.Message == $"backlog {i}"));
        Assert.All(Enumerable.Range(0, 5), i => Assert.Single(posts, p => p.Message == $"new {i}"));
    }

    [Fact]
    public async Task A_post_whose_answer_was_lost_is_looked_for_though_the_failure_did_not_count_as_an_attempt()
    {
        var lose = new LostAnswers();
        await using var h = await MmHarness.StartAsync(waitReady: false);
        await h.Connector.DisposeAsync();
        h.Handler = () => lose.Handler();
        await h.StartConnectorAsync();
        var ev = MmHarness.Message("answer lost");
        lose.Active = true;
        var first = await h.Connector.DeliverAsync(h.Request(ev, outboxId: 51, queuedAt: DateTimeOffset.UtcNow), CancellationToken.None);
        // The server's trouble, not the message's: the core does not count it, so the retry comes with attempt 0.
        Assert.True(first is DeliveryResult.RetryLater { Counts: false }, first.ToString());
        lose.Active = false;
        await h.Sandbox.RestartAsync();
        await MmHarness.WaitUntilAsync(() => h.Connector.IsReady, "reconnected");
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(ev, outboxId: 51, queuedAt: DateTimeOffset.UtcNow), CancellationToken.None));
        Assert.Single(h.Sandbox.GetPosts(h.Seed.Channel.Id), p => p.Message == "answer lost");
    }

    /// <summary>A kill of the bridge (a new connector: a new run) while the server also forgets its pending_post_ids.</summary>
    private static async Task RestartBothAsync(MmHarness h)
    {
        await h.Connector.DisposeAsync();
        await h.Sandbox.RestartAsync();
        await h.StartConnectorAsync();
    }

    /// <summary>Counts the connector's <c>posts?since</c> reads.</summary>
    private sealed class SinceReads
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public HttpMessageHandler Handler() => new Counting(this) { InnerHandler = new SocketsHttpHandler() };

        private sealed class Counting(SinceReads owner) : DelegatingHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (request.Method == HttpMethod.Get && request.RequestUri?.AbsolutePath.EndsWith("/posts", StringComparison.Ordinal) == true &&
                    request.RequestUri.Query.Contains("since=", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref owner._count);
                }

                return base.SendAsync(request, cancellationToken);
            }
        }
    }

    /// <summary>While active, new posts reach the server but their answers never come back.</summary>
    private sealed class LostAnswers
    {
        public volatile bool Active;

        public HttpMessageHandler Handler() => new Losing(this) { InnerHandler = new SocketsHttpHandler() };

        private sealed class Losing(LostAnswers owner) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var response = await base.SendAsync(request, cancellationToken);
                if (owner.Active && request.Method == HttpMethod.Post && request.RequestUri?.AbsolutePath == "/api/v4/posts")
                {
                    response.Dispose();
                    throw new HttpRequestException("connection reset (the answer was lost)");
                }

                return response;
            }
        }
    }
}
