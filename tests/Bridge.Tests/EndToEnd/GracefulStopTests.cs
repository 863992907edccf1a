using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>A graceful stop (SIGTERM) in the middle of traffic, then a restart: nothing lost, nothing doubled.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class GracefulStopTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Sigterm_in_the_middle_of_a_burst_then_restart_delivers_every_message_exactly_once()
    {
        await using var orgs = await TwoOrganisations.StartAsync(startA: async () => await ProsodyServer.StartAsync("a.localhost"),
            startB: async () => await ProsodyServer.StartAsync("b.localhost"), output: output);
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);

        const int Burst = 80;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Burst; i++)
            {
                await alice.SayAsync($"burst-{i}");
            }
        });

        // Stop while deliveries are flowing: the daemon is busy with the backlog the burst makes.
        await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("burst-", StringComparison.Ordinal)) >= 10, Long, "the start of the burst");
        Assert.Equal(0, await bridge.TerminateAsync(TimeSpan.FromSeconds(30)));
        var beforeStop = bob.Messages.Count(m => m.Body.StartsWith("burst-", StringComparison.Ordinal));
        await sending;

        await orgs.StartBridgeAsync();
        await bob.WaitForAsync(ms => Enumerable.Range(0, Burst).All(i => ms.Any(m => m.Body == $"burst-{i}")), Long, "the whole burst");
        await Task.Delay(2000); // a doubled message would arrive by now
        output.WriteLine($"{beforeStop} of {Burst} had arrived when the bridge was stopped");

        // Exactly once and in order: a redelivery of the message in flight at the stop shows up as a repeated body.
        XmppConversation.AssertExactlyInOrder(bob.Messages, "burst-", "Alice");
        Assert.Equal(Burst, bob.Messages.Count(m => m.Body.StartsWith("burst-", StringComparison.Ordinal)));
    }
}
