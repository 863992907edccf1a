using System.Globalization;
using Bridge.Core.Model;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// What happened in the channel while the daemon was down, found by the REST catch-up of the next start (crash storm,
/// issue 13): the connector is stopped, the channel changes, and a new connector starts on the same state.
/// </summary>
public sealed class CatchUpAfterRestartTests
{
    [Fact]
    public async Task A_reaction_on_a_bridged_post_made_while_down_is_caught_up()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = JoinBob(h);
        var puppetPost = await h.DeliverTextAsync("from the other side");

        await h.Connector.DisposeAsync();
        h.Sandbox.React(bob.Id, puppetPost, "+1");
        await h.StartConnectorAsync();

        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Kind == BridgeEventKind.Reaction && e.TargetNativeId == puppetPost), "the reaction made while down", 30000);
        Assert.Equal(bob.Id, h.Sink.Accepted.Single(e => e.Kind == BridgeEventKind.Reaction).Sender.UserId);
    }

    [Fact]
    public async Task A_post_written_and_edited_while_down_arrives_once_with_its_last_text_and_no_edit()
    {
        await using var h = await MmHarness.StartAsync(options: o => o.CatchUpSkew = TimeSpan.FromHours(1));
        var bob = JoinBob(h);
        var seen = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "seen before the stop");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == seen.Id), "the live post");

        await h.Connector.DisposeAsync();
        var unseen = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "first text");
        h.Sandbox.EditPost(bob.Id, unseen.Id, "second text");
        h.Sandbox.EditPost(bob.Id, seen.Id, "seen, then edited while down");
        var catchUpsBefore = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        await h.StartConnectorAsync();

        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == unseen.Id), "the post written while down", 30000);
        await MmHarness.WaitUntilAsync(() => h.Sink.Accepted.Any(e => e.Kind == BridgeEventKind.Edit && e.TargetNativeId == seen.Id), "the edit of the post seen before", 30000);
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > catchUpsBefore, "the catch-up's end", 30000);

        Assert.Equal("second text", h.Sink.Messages.Single(e => e.NativeId == unseen.Id).Text);
        AssertNoEditAfterThePost(h, unseen.Id);

        // Another restart reads the same posts again (a long skew): the post is a duplicate now, its edit still no news.
        await h.Connector.DisposeAsync();
        catchUpsBefore = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        await h.StartConnectorAsync();
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > catchUpsBefore, "the second catch-up's end", 30000);
        Assert.Contains(h.Sink.All, e => e.NativeId == unseen.Id && h.Sink.All.Count(x => x.NativeId == unseen.Id) > 1); // it was read again
        AssertNoEditAfterThePost(h, unseen.Id);
    }

    [Fact]
    public async Task Live_posts_move_the_cursor_without_a_store_write_each_and_a_stop_saves_where_it_stands()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = JoinBob(h);
        var writesBefore = CursorWrites(h);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var posts = new List<Sandbox.Mattermost.SandboxPost>();
        for (var i = 0; i < 30; i++)
        {
            posts.Add(h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, $"live {i}"));
            await Task.Delay(3); // each its own update_at (ms): a cursor only moves forward
        }

        await MmHarness.WaitUntilAsync(() => posts.All(p => h.Sink.Messages.Any(e => e.NativeId == p.Id)), "the live posts");
        var writes = CursorWrites(h) - writesBefore;

        // One store write per post before (30); now one per save of the cursors, at most one a second.
        Assert.True(writes < posts.Count && writes <= (int)clock.Elapsed.TotalSeconds + 2, $"{writes} cursor writes for {posts.Count} posts in {clock.Elapsed.TotalSeconds:F1} s");

        // The save a second later brings the stored cursor behind the last post, while the connector runs.
        var last = h.Sandbox.GetPosts(h.Seed.Channel.Id).Max(p => p.UpdateAt);
        await MmHarness.WaitUntilAsync(() => SavedCursor(h) == last, "the cursor saved behind the last post", 10000);

        // A stop saves the cursor behind everything taken in, so the next start reads none of it again.
        var after = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "just before the stop");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == after.Id), "the post before the stop");
        await h.Connector.DisposeAsync();
        Assert.Equal(h.Sandbox.GetPosts(h.Seed.Channel.Id).Max(p => p.UpdateAt), SavedCursor(h));
    }

    private static long? SavedCursor(MmHarness h) =>
        h.State.GetAsync("mattermost:mm:cursor", h.Seed.Channel.Id, CancellationToken.None).GetAwaiter().GetResult() is { } saved
            ? long.Parse(saved, CultureInfo.InvariantCulture) : null;

    private static int CursorWrites(MmHarness h) =>
        h.State.Sets.Count(s => s.Scope == "mattermost:mm:cursor") + h.State.SetManys.Count(s => s.Scope == "mattermost:mm:cursor");

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task The_cursor_never_passes_a_post_the_catch_up_has_not_handled_yet(int saveDelayMs)
    {
        // No skew: the saved cursor alone must keep every unhandled post in reach of the next catch-up. With no save
        // delay each move is written at once, so the position the catch-up gives after each post is the one looked at;
        // with the default delay, whatever the loop saved by then.
        await using var h = await MmHarness.StartAsync(options: o => { o.CatchUpSkew = TimeSpan.Zero; o.CursorSaveDelay = TimeSpan.FromMilliseconds(saveDelayMs); });
        var bob = JoinBob(h);
        var older = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "older");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == older.Id), "the live post");

        await h.Connector.DisposeAsync();
        await Task.Delay(20);
        var newer = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "newer, written while down");
        await Task.Delay(20);
        h.Sandbox.React(bob.Id, older.Id, "+1"); // moves the older post's update_at past the newer one's
        var newerUpdateAt = h.Sandbox.GetPosts(h.Seed.Channel.Id).Single(p => p.Id == newer.Id).UpdateAt;

        long? cursorWhenNewerArrived = null;
        h.Sink.OnIngest = e =>
        {
            if (e.NativeId == newer.Id && cursorWhenNewerArrived is null)
            {
                var saved = h.State.GetAsync("mattermost:mm:cursor", h.Seed.Channel.Id, CancellationToken.None).GetAwaiter().GetResult();
                cursorWhenNewerArrived = long.Parse(saved!, CultureInfo.InvariantCulture);
            }
        };
        await h.StartConnectorAsync();
        await MmHarness.WaitUntilAsync(() => cursorWhenNewerArrived is not null, "the post written while down", 30000);

        // A kill at this moment restarts from the saved cursor: it must still be before the unhandled post.
        Assert.True(cursorWhenNewerArrived < newerUpdateAt, $"cursor {cursorWhenNewerArrived} is not before the unhandled post's update_at {newerUpdateAt}");
    }

    [Fact]
    public async Task A_backlog_longer_than_one_since_answer_is_caught_up_whole()
    {
        // Mattermost answers posts?since= with at most the newest 1000 changed posts (by create_at). The 100-kill storm
        // let the backlog grow past that while catch-ups kept being killed, and the next catch-up jumped over the rest.
        await using var h = await MmHarness.StartAsync();
        var bob = JoinBob(h);
        await h.Connector.DisposeAsync();

        var written = Enumerable.Range(0, 1150).Select(i => h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, $"while down {i}").Id).ToList();
        h.Sandbox.EditPost(bob.Id, written[3], "an early post, edited while down");
        var catchUpsBefore = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        await h.StartConnectorAsync();
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > catchUpsBefore, "the catch-up's end", 60000);

        var arrived = h.Sink.Messages.Select(e => e.NativeId).ToHashSet(StringComparer.Ordinal);
        var missing = written.Where(id => !arrived.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {written.Count} posts written while down never arrived");
        Assert.Equal("an early post, edited while down", h.Sink.Messages.Single(e => e.NativeId == written[3]).Text);
    }

    [Fact]
    public async Task A_kill_right_after_a_post_first_seen_edited_is_committed_does_not_repeat_its_edit()
    {
        // The storm doubled such edits: the post was committed with its edited text, the daemon died before the
        // connector noted that, and the next catch-up saw an old post with an edit it had never sent.
        await using var h = await MmHarness.StartAsync(options: o => o.CatchUpSkew = TimeSpan.FromHours(1));
        var bob = JoinBob(h);
        await h.Connector.DisposeAsync();
        var unseen = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "first text");
        h.Sandbox.EditPost(bob.Id, unseen.Id, "second text");

        h.Sink.FailOnceAfterRecording = e => e.Kind == BridgeEventKind.Message && e.NativeId == unseen.Id;
        var catchUpsBefore = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        await h.StartConnectorAsync();
        // The failed attempt is followed by another catch-up (as a restart would be), which reads the post again.
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > catchUpsBefore, "the catch-up after the failure", 30000);

        Assert.True(h.Sink.All.Count(e => e.NativeId == unseen.Id) > 1, "the post was not read again");
        Assert.Equal("second text", h.Sink.Messages.Single(e => e.NativeId == unseen.Id).Text);
        AssertNoEditAfterThePost(h, unseen.Id);
    }

    /// <summary>
    /// A post that went out with its edited text must not get that edit on top. An edit ingested before its post is
    /// harmless: the core delivers a channel's rows in order and skips an edit whose target was never delivered.
    /// </summary>
    private static void AssertNoEditAfterThePost(MmHarness h, string postId)
    {
        var accepted = h.Sink.Accepted.ToList();
        var postAt = accepted.FindIndex(e => e.Kind == BridgeEventKind.Message && e.NativeId == postId);
        Assert.True(postAt >= 0, "the post never arrived");
        var later = accepted.Skip(postAt + 1).Where(e => e.Kind == BridgeEventKind.Edit && e.TargetNativeId == postId).ToList();
        Assert.True(later.Count == 0, $"{later.Count} edit(s) of {postId} after it went out with its edited text");
    }

    private static Sandbox.Mattermost.SandboxUser JoinBob(MmHarness h)
    {
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        return bob;
    }
}
