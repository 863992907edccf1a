using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// One person floods one link while another person talks on another link toward the same network: the quiet link's
/// messages all cross while the flood's backlog is still draining, and the flood itself arrives whole, once, in order.
/// The default suite floods 2,000 (the harness sends about 500 a second); <c>scripts/bench.sh --flood 10000</c> runs the full size.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class FloodTests(ITestOutputHelper output)
{
    private const int Flood = 2000;
    private const int Quiet = 20;

    [Fact]
    public async Task A_flooded_link_does_not_starve_a_quiet_one_and_the_flood_arrives_whole_and_in_order()
    {
        // The flooder's rate (200/s) keeps a backlog at the bridge for several seconds after the flood was sent.
        await using var s = await FloodScenario.StartAsync("limits:\n  senderPerSecond: 200\n  senderBurst: 200\n  linkPerSecond: 400\n  linkBurst: 400");
        var result = await s.RunAsync(Flood, Quiet, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(3));
        output.WriteLine(FormattableString.Invariant(
            $"flood sent in {result.FloodSent.TotalSeconds:F1} s, drained at {result.FloodDrained.TotalSeconds:F1} s; {result.FloodReceivedWhenQuietDone} of {Flood} had crossed when the quiet link was done; quiet delay median {result.QuietPercentile(0.5):F0} ms, p99 {result.QuietPercentile(0.99):F0} ms"));

        Assert.Equal(Enumerable.Range(0, Quiet).Select(i => $"quiet-{i}"), result.QuietReceived);
        Assert.True(result.FloodReceivedWhenQuietDone < Flood,
            $"the quiet link finished only after the whole flood ({result.FloodReceivedWhenQuietDone} of {Flood}) had crossed: it waited behind the backlog");
        Assert.Equal(Enumerable.Range(0, Flood).Select(i => $"flood-{i}"), result.FloodReceived);
        Assert.False(s.Bridge.HasExited);
    }
}
