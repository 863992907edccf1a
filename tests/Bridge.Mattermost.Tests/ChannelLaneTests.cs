using Bridge.Core.Model;
using Sandbox.Mattermost;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// Catch-up in the background (issue 12): each channel has its own lane, so a channel whose REST catch-up is slow holds
/// only itself; its own live events still wait behind its catch-up, so its order is kept.
/// </summary>
public sealed class ChannelLaneTests
{
    [Fact]
    public async Task A_channel_still_catching_up_holds_only_its_own_events()
    {
        await using var h = await MmHarness.StartAsync();
        var (quiet, bob) = QuietChannelAndBob(h);

        // The busy channel's catch-up read is held until the test lets it go.
        var gate = new SinceGate(h.Seed.Channel.Id);
        h.Handler = gate.Handler;
        await h.Connector.DisposeAsync();
        var whileDown = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "written while the bridge was down");
        await h.StartConnectorAsync();
        await gate.Held.WaitAsync(TimeSpan.FromSeconds(30));

        var busyLive = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "live in the channel catching up");
        var quietLive = h.Sandbox.Post(bob.Id, quiet.Id, "live in the other channel");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == quietLive.Id), "the other channel's live post while the first one catches up", 30000);
        Assert.DoesNotContain(h.Sink.Messages, e => e.NativeId == busyLive.Id || e.NativeId == whileDown.Id);

        gate.Release();
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == busyLive.Id), "the busy channel's live post after its catch-up", 30000);
        var busy = h.Sink.Messages.Where(e => e.ChannelId == MmHarness.DefaultChannel).Select(e => e.NativeId).ToList();
        Assert.True(busy.IndexOf(whileDown.Id) >= 0 && busy.IndexOf(whileDown.Id) < busy.IndexOf(busyLive.Id), "the post written while down comes before the live one");
    }

    [Fact]
    public async Task Posts_queued_behind_each_other_reach_the_core_together_once_and_in_order()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = await BobAfterTheStartsCatchUpAsync(h);

        // The first post's hand-over is held (a slow commit) while 40 more come in behind it.
        var inFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Sink.BeforeHandOver = async () =>
        {
            inFirst.TrySetResult();
            await release.Task;
        };
        var posts = new List<SandboxPost> { h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "first") };
        await inFirst.Task.WaitAsync(TimeSpan.FromSeconds(30));
        posts.AddRange(Enumerable.Range(0, 40).Select(i => h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, $"queued {i}")));
        await MmHarness.WaitUntilAsync(() => h.Connector.QueuedInLane(h.Seed.Channel.Id) >= 40, "the 40 posts queued in the channel's lane", 30000);
        release.SetResult();

        await MmHarness.WaitUntilAsync(() => posts.All(p => h.Sink.Messages.Any(e => e.NativeId == p.Id)), "every post", 30000);
        Assert.Equal(posts.Select(p => p.Id), h.Sink.Messages.Select(e => e.NativeId)); // once each, in order
        // One at a time, each post was a hand-over (and a store commit) of its own: 41.
        Assert.True(h.Sink.HandOvers.Count == 2, $"{h.Sink.HandOvers.Count} hand-overs: {string.Join(", ", h.Sink.HandOvers)}");
    }

    /// <summary>Bob in the channel, once the start's catch-up is over: his first post comes live, not also read by the catch-up.</summary>
    private static async Task<SandboxUser> BobAfterTheStartsCatchUpAsync(MmHarness h)
    {
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Any(e => e.Id == MattermostLog.CatchUp), "the start's catch-up");
        return bob;
    }

    [Fact]
    public async Task A_run_of_posts_that_fails_is_caught_up_whole_in_order_once()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = await BobAfterTheStartsCatchUpAsync(h);

        // The first post's hand-over is held while 20 more queue behind it; the next hand-over (the run) fails whole,
        // as a store failure would.
        var inFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handOvers = 0;
        h.Sink.BeforeHandOver = async () =>
        {
            switch (Interlocked.Increment(ref handOvers))
            {
                case 1:
                    inFirst.TrySetResult();
                    await release.Task;
                    break;
                case 2:
                    throw new InvalidOperationException("store unavailable");
            }
        };
        var posts = new List<SandboxPost> { h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "first") };
        await inFirst.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 20; i++)
        {
            posts.Add(h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, $"queued {i}"));
            await Task.Delay(2); // each its own create_at, so the catch-up reads them back in this order
        }

        await MmHarness.WaitUntilAsync(() => h.Connector.QueuedInLane(h.Seed.Channel.Id) >= 20, "the 20 posts queued in the channel's lane", 30000);
        release.SetResult();

        // Nothing of the failed run was stored; the channel's catch-up brings it all, in order, each once.
        await MmHarness.WaitUntilAsync(() => posts.All(p => h.Sink.Messages.Any(e => e.NativeId == p.Id)), "every post, after the catch-up", 30000);
        Assert.True(h.Sink.HandOvers.Skip(1).First() == 20, $"hand-overs: {string.Join(", ", h.Sink.HandOvers)}; accepted: {string.Join(", ", h.Sink.Accepted.Select(e => e.Text))}"); // the posts behind the first were handed over as one run
        Assert.Equal(posts.Select(p => p.Id), h.Sink.Messages.Select(e => e.NativeId));
    }

    [Fact]
    public async Task A_channel_taken_out_of_the_configuration_and_put_back_does_not_catch_up_its_unlinked_stretch()
    {
        await using var h = await MmHarness.StartAsync(options: o => o.CatchUpSkew = TimeSpan.FromMilliseconds(1));
        var extra = h.Sandbox.CreateChannel(h.Seed.Team.Id, "extra", "Extra");
        h.Sandbox.AddToChannel(extra.Id, h.Seed.Admin.Id);
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(extra.Id, bob.Id);
        h.MoreLinkedChannels.Add("demo/extra");
        await h.Connector.DisposeAsync();
        await h.StartConnectorAsync();
        var linked = h.Sandbox.Post(bob.Id, extra.Id, "while linked");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == linked.Id), "the post while linked");

        // A restart without the channel in the configuration, a post there, then a restart with it again.
        await h.Connector.DisposeAsync();
        h.MoreLinkedChannels.Clear();
        await h.StartConnectorAsync();
        var unlinked = h.Sandbox.Post(bob.Id, extra.Id, "written while not bridged");
        await Task.Delay(50);
        await h.Connector.DisposeAsync();
        h.MoreLinkedChannels.Add("demo/extra");
        var catchUps = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        await h.StartConnectorAsync();
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > catchUps, "the catch-up after the start", 30000);
        var after = h.Sandbox.Post(bob.Id, extra.Id, "linked again");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == after.Id), "the post after linking again");

        Assert.DoesNotContain(h.Sink.All, e => e.NativeId == unlinked.Id);
    }

    [Fact]
    public async Task A_slow_membership_check_after_a_new_connection_holds_only_its_own_channel()
    {
        await using var h = await MmHarness.StartAsync();
        var (quiet, bob) = QuietChannelAndBob(h);
        await h.Connector.DisposeAsync();
        await h.StartConnectorAsync();

        // After a new connection the bridge account's membership of every linked channel is checked again; the busy
        // channel's check is held (from the new connection's round on) until the test lets it go.
        var gate = new MembershipGate(h.Seed.Channel.Id);
        h.Handler = gate.Handler;
        await h.Connector.DisposeAsync();
        var rounds = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        await h.StartConnectorAsync();
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > rounds, "the start's catch-up round", 30000);
        gate.Arm();
        h.Sandbox.DropWebSockets(keepResumeQueue: false);
        await gate.Held.WaitAsync(TimeSpan.FromSeconds(30));

        var quietLive = h.Sandbox.Post(bob.Id, quiet.Id, "live in the other channel");
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == quietLive.Id), "the other channel's live post while the first one's membership is checked", 30000);
        var busyLive = h.Sandbox.Post(bob.Id, h.Seed.Channel.Id, "live in the channel being checked");
        await Task.Delay(200);
        Assert.DoesNotContain(h.Sink.Messages, e => e.NativeId == busyLive.Id); // it waits behind its own channel's catch-up
        gate.Release();
        await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == busyLive.Id), "the checked channel's live post after its catch-up", 30000);
    }

    /// <summary>A second linked channel ("quiet") beside the harness's own, and Bob, a member of both.</summary>
    private static (SandboxChannel Quiet, SandboxUser Bob) QuietChannelAndBob(MmHarness h)
    {
        var quiet = h.Sandbox.CreateChannel(h.Seed.Team.Id, "quiet", "Quiet");
        h.Sandbox.AddToChannel(quiet.Id, h.Seed.Admin.Id);
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        h.Sandbox.AddToChannel(quiet.Id, bob.Id);
        h.MoreLinkedChannels.Add("demo/quiet");
        return (quiet, bob);
    }

    /// <summary>Holds the bridge account's membership checks of one channel, once armed, until <see cref="Release"/>.</summary>
    private sealed class MembershipGate(string channelId)
    {
        private readonly string _channelId = channelId;
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _armed;

        public Task Held => _held.Task;

        public void Arm() => _armed = true;

        public void Release() => _released.TrySetResult();

        public HttpMessageHandler Handler() => new Holding(this) { InnerHandler = new SocketsHttpHandler() };

        private sealed class Holding(MembershipGate owner) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (owner._armed && request.Method == HttpMethod.Get
                    && request.RequestUri!.AbsolutePath.Contains($"/channels/{owner._channelId}/members/", StringComparison.Ordinal))
                {
                    owner._held.TrySetResult();
                    await owner._released.Task.WaitAsync(cancellationToken);
                }

                return await base.SendAsync(request, cancellationToken);
            }
        }
    }

    [Fact]
    public async Task A_channel_someone_talks_in_gets_the_next_catch_up_turn_before_quiet_channels_that_asked_earlier()
    {
        await using var h = await MmHarness.StartAsync();
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        var created = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 12; i++)
        {
            var channel = h.Sandbox.CreateChannel(h.Seed.Team.Id, $"c{i}", $"Channel {i}");
            created.Add(channel.Id);
            h.Sandbox.AddToChannel(channel.Id, h.Seed.Admin.Id);
            h.Sandbox.AddToChannel(channel.Id, bob.Id);
            h.MoreLinkedChannels.Add($"demo/c{i}");
        }

        var gate = new HoldingGate();
        h.Handler = gate.Handler;
        await h.Connector.DisposeAsync();
        var rounds = h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp);
        await h.StartConnectorAsync();
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Count(e => e.Id == MattermostLog.CatchUp) > rounds, "the start's catch-up round", 30000);

        // A new connection's round with every read held: the turns fill, the other channels wait for one (or are on
        // their way to ask). Bob talks in one of those.
        gate.Hold();
        h.Sandbox.DropWebSockets(keepResumeQueue: false);
        await MmHarness.WaitUntilAsync(() => gate.Held == MattermostConnector.CatchUpsAtOnce, "every turn taken", 30000);
        var reading = gate.HeldChannels;
        var talk = created.First(c => !reading.Contains(c));
        gate.LetThrough(talk);
        var live = h.Sandbox.Post(bob.Id, talk, "live while the quiet channels catch up");
        await MmHarness.WaitUntilAsync(() => h.Logs.Entries.Any(e => e.Id == MattermostLog.CatchUpHurried && e.Message.Contains(talk, StringComparison.Ordinal)),
            "the talking channel's catch-up hurried", 30000);

        // Turns are given back one at a time; each goes either to the talking channel (its post then crosses) or to a
        // quiet one (whose read is held in turn). In the order they asked, the talking channel would wait for the
        // channels that asked before it; hurried, it takes the first turn given back.
        var turnsGiven = 0;
        while (!h.Sink.Messages.Any(e => e.NativeId == live.Id))
        {
            Assert.True(turnsGiven < 1, $"the talking channel still waited after {turnsGiven} turns were given back");
            var held = gate.Held;
            gate.ReleaseOne();
            turnsGiven++;
            await MmHarness.WaitUntilAsync(() => h.Sink.Messages.Any(e => e.NativeId == live.Id) || gate.Held > held,
                "the freed turn taken", 30000);
        }

        gate.ReleaseAll();
    }

    /// <summary>
    /// Once told, holds every <c>posts?since=</c> read (but one channel's), each until it is released (oldest first).
    /// </summary>
    private sealed class HoldingGate
    {
        private readonly Lock _lock = new();
        private readonly List<(string Channel, TaskCompletionSource Hold)> _holds = [];
        private string? _except;
        private int _released;
        private bool _holding;

        public int Held
        {
            get
            {
                lock (_lock)
                {
                    return _holds.Count;
                }
            }
        }

        public IReadOnlySet<string> HeldChannels
        {
            get
            {
                lock (_lock)
                {
                    return _holds.Select(h => h.Channel).ToHashSet(StringComparer.Ordinal);
                }
            }
        }

        public void Hold()
        {
            lock (_lock)
            {
                _holding = true;
            }
        }

        public void LetThrough(string channelId)
        {
            lock (_lock)
            {
                _except = channelId;
            }
        }

        public void ReleaseOne()
        {
            lock (_lock)
            {
                _holds[_released++].Hold.TrySetResult();
            }
        }

        public void ReleaseAll()
        {
            lock (_lock)
            {
                _holding = false;
                foreach (var (_, hold) in _holds)
                {
                    hold.TrySetResult();
                }
            }
        }

        public HttpMessageHandler Handler() => new Holding(this) { InnerHandler = new SocketsHttpHandler() };

        private sealed class Holding(HoldingGate owner) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var path = request.RequestUri!.AbsolutePath;
                const string channels = "/channels/";
                if (request.Method == HttpMethod.Get && path.EndsWith("/posts", StringComparison.Ordinal) && path.Contains(channels, StringComparison.Ordinal)
                    && request.RequestUri.Query.Contains("since=", StringComparison.Ordinal))
                {
                    var start = path.IndexOf(channels, StringComparison.Ordinal) + channels.Length;
                    var channelId = path[start..path.IndexOf('/', start)];
                    TaskCompletionSource? hold = null;
                    lock (owner._lock)
                    {
                        if (owner._holding && channelId != owner._except)
                        {
                            hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                            owner._holds.Add((channelId, hold));
                        }
                    }

                    if (hold is not null)
                    {
                        await hold.Task.WaitAsync(cancellationToken);
                    }
                }

                return await base.SendAsync(request, cancellationToken);
            }
        }
    }

    /// <summary>Holds the first <c>posts?since=</c> read of one channel until <see cref="Release"/>.</summary>
    private sealed class SinceGate(string channelId)
    {
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Held => _held.Task;

        public void Release() => _released.TrySetResult();

        public HttpMessageHandler Handler() => new Holding(this) { InnerHandler = new SocketsHttpHandler() };

        private sealed class Holding(SinceGate owner) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var uri = request.RequestUri!;
                if (request.Method == HttpMethod.Get && uri.AbsolutePath.EndsWith($"/channels/{owner._channelId}/posts", StringComparison.Ordinal)
                    && uri.Query.Contains("since=", StringComparison.Ordinal))
                {
                    owner._held.TrySetResult();
                    await owner._released.Task.WaitAsync(cancellationToken);
                }

                return await base.SendAsync(request, cancellationToken);
            }
        }

        private readonly string _channelId = channelId;
    }
}
