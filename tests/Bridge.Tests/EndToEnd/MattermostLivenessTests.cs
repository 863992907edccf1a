using System.Diagnostics;
using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// A Mattermost WebSocket cut silently (a partition: no FIN, packets vanish) is noticed by the ping that goes
/// unanswered, not by TCP many minutes later (issue 13): the socket is replaced and posts made during the cut arrive.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MattermostLivenessTests(ITestOutputHelper output)
{
    /// <summary>Well under the 30 s the old keepalive needed, with the default pingInterval (10 s) and pongTimeout (5 s).</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_silently_cut_websocket_is_found_dead_and_posts_made_during_the_cut_reach_xmpp_within_the_bound()
    {
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions
        {
            Matrix = false,
            MattermostThroughProxy = true,
            // The defaults, as an operator runs it (the sandbox's keys ping every 2 s).
            MattermostKeys = new Dictionary<string, string?> { ["pingInterval"] = null },
        });
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        net.CarolSays("warm-up from carol");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "warm-up from carol"), ThreeNetworks.Long, "Carol's warm-up at Alice");
        var proxy = net.MattermostProxy!;
        var connectionsBefore = proxy.Accepted;

        proxy.Blackhole();
        var cut = Stopwatch.StartNew();
        net.CarolSays("during the cut");
        await Task.Delay(TimeSpan.FromSeconds(2));
        proxy.Restore(); // the partition heals for new connections; the cut socket stays silent
        net.CarolSays("after the cut");

        try
        {
            await alice.WaitForAsync(ms => ms.Any(m => m.Body == "during the cut") && ms.Any(m => m.Body == "after the cut"), Bound,
                "the posts made during and after the cut at Alice");
        }
        finally
        {
            output.WriteLine(bridge.Output);
        }

        output.WriteLine($"posts made during the cut arrived {cut.Elapsed.TotalSeconds:F1} s after it (bound {Bound.TotalSeconds} s)");
        Assert.Contains("Mattermost WebSocket found dead", bridge.Output, StringComparison.Ordinal);
        Assert.True(proxy.Accepted > connectionsBefore, "the bridge should have opened a new connection");
        await Task.Delay(1500); // a doubled delivery would show by now
        Assert.Single(alice.Messages, m => m.Body == "during the cut");
        Assert.Single(alice.Messages, m => m.Body == "after the cut");
    }
}
