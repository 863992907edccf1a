using Bridge.Testing;
using Xunit.Abstractions;

namespace Bridge.Tests.EndToEnd;

/// <summary>The whole daemon between two real Prosody servers with real slixmpp people.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class XmppToXmppTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Hundred_messages_each_way_arrive_once_in_order_from_the_speakers_puppet_and_never_echo()
    {
        await using var orgs = await TwoOrganisations.StartAsync();
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);

        var sendA = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await alice.SayAsync($"a-{i}");
            }
        });
        var sendB = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await bob.SayAsync($"b-{i}");
            }
        });
        await Task.WhenAll(sendA, sendB);

        var atBob = await bob.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("a-", StringComparison.Ordinal)) >= 100, Long, "100 messages from Alice");
        var atAlice = await alice.WaitForAsync(ms => ms.Count(m => m.Body.StartsWith("b-", StringComparison.Ordinal)) >= 100, Long, "100 messages from Bob");
        await Task.Delay(1000); // anything doubled or echoed would show up by now

        XmppConversation.AssertExactlyInOrder(bob.Messages, "a-", "Alice");
        XmppConversation.AssertExactlyInOrder(alice.Messages, "b-", "Bob");
        // No echo: each side sees its own 100 messages once (its own reflections), never again from a puppet.
        Assert.Equal(100, alice.Messages.Count(m => m.Body.StartsWith("a-", StringComparison.Ordinal)));
        Assert.Equal(100, bob.Messages.Count(m => m.Body.StartsWith("b-", StringComparison.Ordinal)));
        Assert.All(atBob.Concat(atAlice), m => Assert.False(m.Delayed));
        // The store sits in the configuration's folder here: the configuration's watch must not be an inotify watch of
        // that folder, which every store write woke (ConfigFileWatch).
        Assert.DoesNotContain(FileDescriptorTargets(bridge.Pid), target => target == "anon_inode:inotify");
        output.WriteLine(bridge.Output[^Math.Min(bridge.Output.Length, 3000)..]);
    }

    /// <summary>What each of the process's open file descriptors is (an inotify instance shows as anon_inode:inotify).</summary>
    private static List<string> FileDescriptorTargets(int pid) =>
        Directory.GetFiles($"/proc/{pid}/fd")
            .Select(fd => { try { return new FileInfo(fd).LinkTarget ?? ""; } catch (IOException) { return ""; } })
            .ToList();

    [Fact]
    public async Task A_server_down_for_30_seconds_gets_everything_once_after_it_returns()
    {
        await using var orgs = await TwoOrganisations.StartAsync();
        await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);
        await bob.DisposeAsync();

        await orgs.B.StopAsync();
        var outage = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 10; i++)
        {
            await alice.SayAsync($"outage-{i}");
            await Task.Delay(TimeSpan.FromSeconds(3));
        }

        // Ten sends 3 s apart keep the server down for 30 s (the timer may fire a hair early; the server was down throughout).
        Assert.True(outage.Elapsed >= TimeSpan.FromSeconds(29.5), $"outage lasted {outage.Elapsed}");
        await orgs.B.StartAgainAsync();

        // Bob comes back and asks for the room's recent history: what the bridge delivered before he joined
        // arrives delayed, the rest live; either way each message must be there exactly once.
        var bobAgain = await orgs.BobAsync(history: 50);
        await bobAgain.WaitForAsync(ms => Enumerable.Range(0, 10).All(i => ms.Any(m => m.Body == $"outage-{i}")), Long, "the 10 messages sent during the outage");
        await Task.Delay(1500);
        XmppConversation.AssertExactlyInOrder(bobAgain.Messages, "outage-", "Alice");

        // And Prosody B still works the other way.
        await bobAgain.SayAsync("after-outage");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "after-outage" && m.FromNick == "Bob"), Long, "Bob's message after the outage");
    }

    [Fact]
    public async Task Queued_deliveries_survive_sigkill_and_are_delivered_once_after_restart()
    {
        await using var orgs = await TwoOrganisations.StartAsync();
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);
        await bob.DisposeAsync();
        await orgs.B.StopAsync();

        for (var i = 0; i < 20; i++)
        {
            await alice.SayAsync($"queued-{i}");
        }

        await ThreeNetworks.WaitForPendingAsync(orgs.DatabasePath, "org-b", 20);
        await bridge.KillAsync();
        await orgs.B.StartAgainAsync();
        await orgs.StartBridgeAsync();

        var bobAgain = await orgs.BobAsync(history: 50);
        await bobAgain.WaitForAsync(ms => Enumerable.Range(0, 20).All(i => ms.Any(m => m.Body == $"queued-{i}")), Long, "the 20 queued messages");
        await Task.Delay(1500);
        XmppConversation.AssertExactlyInOrder(bobAgain.Messages, "queued-", "Alice");
        await ThreeNetworks.WaitForPendingAsync(orgs.DatabasePath, "org-b", 0);
    }

    [Fact]
    public async Task Sigterm_drains_and_exits_cleanly()
    {
        await using var orgs = await TwoOrganisations.StartAsync();
        var bridge = await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);

        var code = await bridge.TerminateAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, code);
        Assert.Contains("Bridge stopped", bridge.Output, StringComparison.Ordinal);
        // The puppet that spoke for Bob left Alice's room: Alice saw it go.
        await alice.WaitForPresenceAsync("Bob", "unavailable", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_admin_api_reports_health_queues_and_metrics()
    {
        var port = FreePorts.Next();
        await using var orgs = await TwoOrganisations.StartAsync(c => c.Raw($"admin:\n  listen: http://127.0.0.1:{port}"));
        await orgs.StartBridgeAsync();
        var alice = await orgs.AliceAsync();
        var bob = await orgs.BobAsync();
        await XmppConversation.WarmUpAsync(alice, bob);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        Assert.Equal("ok", (await http.GetStringAsync("/healthz")).Trim());
        var status = await http.GetStringAsync("/status");
        Assert.Contains("\"network\":\"org-a\"", status, StringComparison.Ordinal);
        Assert.Contains("\"ready\":true", status, StringComparison.Ordinal);
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Matches("bridge_events_ingested_total\\{[^}]*network=\"org-a\"[^}]*outcome=\"accepted\"[^}]*\\} [1-9]", metrics);
        Assert.Matches("bridge_deliveries_total\\{[^}]*network=\"org-b\"[^}]*result=\"delivered\"[^}]*\\} [1-9]", metrics);

        // A network that goes away turns health to 503, naming it.
        await orgs.B.StopAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        HttpResponseMessage response;
        do
        {
            response = await http.GetAsync("/healthz");
            await Task.Delay(100);
        }
        while (response.IsSuccessStatusCode && DateTime.UtcNow < deadline);

        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("org-b", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }



}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EndToEndCollection
{
    public const string Name = "end-to-end";
}
