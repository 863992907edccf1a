using System.Net.Sockets;
using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// The bridge's XEP-0114 component against ejabberd (Debian's 23.01): one organisation on ejabberd, one on Prosody,
/// linked through the real daemon, with real slixmpp people in each room.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class EjabberdTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Twenty_messages_each_way_between_ejabberd_and_prosody_arrive_once_in_order_from_the_speakers_puppet()
    {
        await using var orgs = await MixedOrganisationsAsync();
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);

        var sendAlice = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await alice.SayAsync($"e-{i}");
            }
        });
        var sendBob = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await bob.SayAsync($"p-{i}");
            }
        });
        await Task.WhenAll(sendAlice, sendBob);

        var atBob = await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("e-", StringComparison.Ordinal)) >= 20, Long, "20 messages from Alice on ejabberd");
        var atAlice = await alice.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("p-", StringComparison.Ordinal)) >= 20, Long, "20 messages from Bob on Prosody");
        await Task.Delay(1000); // anything doubled or echoed would show up by now

        XmppConversation.AssertExactlyInOrder(bob.Messages, "e-", "Alice");
        XmppConversation.AssertExactlyInOrder(alice.Messages, "p-", "Bob");
        // No echo: each side sees its own messages once (the room's reflection), never again through a puppet.
        Assert.Equal(20, alice.Messages.Count(m => m.Body.StartsWith("e-", StringComparison.Ordinal)));
        Assert.Equal(20, bob.Messages.Count(m => m.Body.StartsWith("p-", StringComparison.Ordinal)));
        Assert.All(atBob.Concat(atAlice), m => Assert.False(m.Delayed));
        Assert.False(bridge.HasExited);
    }

    [Fact]
    public async Task Ejabberd_restarted_under_the_running_bridge_gets_what_was_said_meanwhile_once_and_works_both_ways_again()
    {
        await using var orgs = await MixedOrganisationsAsync();
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);
        await orgs.LeaveAsync(alice);

        await orgs.A.StopAsync();
        for (var i = 0; i < 10; i++)
        {
            await bob.SayAsync($"restart-{i}");
            await Task.Delay(200);
        }

        await orgs.A.StartAgainAsync();

        // Alice comes back and asks for the room's recent history: what the bridge delivered before she joined arrives
        // delayed, the rest live; either way each message must be there exactly once, from Bob's puppet.
        var aliceAgain = await orgs.AliceAsync(history: 50);
        await aliceAgain.WaitForAsync(ms => Enumerable.Range(0, 10).All(i => ms.Any(m => m.Body == $"restart-{i}")), Long, "the 10 messages sent during the restart");
        await Task.Delay(1500);
        XmppConversation.AssertExactlyInOrder(aliceAgain.Messages, "restart-", "Bob");

        // The component stream is back for the other direction too: the bridge re-joined its rooms on ejabberd.
        await aliceAgain.SayAsync("after-restart");
        await bob.WaitForAsync(ms => ms.Any(m => m.Body == "after-restart" && m.FromNick == "Alice"), Long, "Alice's message after the restart");
        Assert.False(bridge.HasExited);
        Assert.Equal(1, bob.Messages.Count(m => m.Body == "after-restart"));
    }

    [Fact]
    public async Task Two_ejabberds_and_a_prosody_run_side_by_side_and_stop_by_pid_keeping_their_accounts()
    {
        // All three start at once: distinct node names, cookies and Erlang distribution ports, no epmd.
        var firstStart = EjabberdServer.StartAsync("one.localhost");
        var secondStart = EjabberdServer.StartAsync("two.localhost");
        var prosodyStart = ProsodyServer.StartAsync("three.localhost");
        try
        {
            await Task.WhenAll(firstStart, secondStart, prosodyStart);
        }
        catch
        {
            await DisposeStartedAsync(firstStart);
            await DisposeStartedAsync(secondStart);
            await DisposeStartedAsync(prosodyStart);
            throw;
        }

        await using var first = await firstStart;
        await using var second = await secondStart;
        await using var prosody = await prosodyStart;
        await first.RegisterAsync("carol", "carolpass");
        await second.RegisterAsync("dave", "davepass");

        await using (var carol = await XmppPerson.JoinAsync(first, "carol", "carolpass", first.Room("ops"), "Carol"))
        await using (var dave = await XmppPerson.JoinAsync(second, "dave", "davepass", second.Room("ops"), "Dave"))
        {
            await carol.SayAsync("hello from one");
            await carol.WaitForAsync(ms => ms.Any(m => m.Body == "hello from one" && m.FromNick == "Carol"), Long, "Carol's own message");
            Assert.DoesNotContain(dave.Messages, m => m.Body == "hello from one");
        }

        await first.StopAsync();
        Assert.False(Accepts(first.C2sPort));
        Assert.False(Accepts(first.ComponentPort));
        Assert.True(Accepts(second.C2sPort));
        Assert.True(Accepts(prosody.C2sPort));

        // Same Mnesia spool and node name after a restart: the account is still there.
        await first.StartAgainAsync();
        await using var carolAgain = await XmppPerson.JoinAsync(first, "carol", "carolpass", first.Room("ops"), "Carol");
        Assert.Contains("is started in the node", first.Log, StringComparison.Ordinal);
    }

    /// <summary>After a failed parallel start: stops whichever servers did start.</summary>
    private static async Task DisposeStartedAsync<T>(Task<T> start)
        where T : IAsyncDisposable
    {
        if (start.IsCompletedSuccessfully)
        {
            await (await start).DisposeAsync();
        }
    }



    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Organisation A on ejabberd (Alice), organisation B on Prosody (Bob), one room each, linked as "ops".</summary>
    private Task<TwoOrganisations> MixedOrganisationsAsync() =>
        TwoOrganisations.StartAsync(async () => await EjabberdServer.StartAsync("e.localhost"), async () => await ProsodyServer.StartAsync("p.localhost"), output: output);
}
