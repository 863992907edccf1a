using Bridge.Core.Model;

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
        var quiet = h.Sandbox.CreateChannel(h.Seed.Team.Id, "quiet", "Quiet");
        h.Sandbox.AddToChannel(quiet.Id, h.Seed.Admin.Id);
        var bob = h.Sandbox.CreateUser("bob");
        h.Sandbox.AddToTeam(h.Seed.Team.Id, bob.Id);
        h.Sandbox.AddToChannel(h.Seed.Channel.Id, bob.Id);
        h.Sandbox.AddToChannel(quiet.Id, bob.Id);
        h.MoreLinkedChannels.Add("demo/quiet");

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
