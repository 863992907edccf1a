using System.Xml.Linq;
using Bridge.Core.Connectors;

namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>
/// Runs (<see cref="IRunDelivery"/>) against a real server: one sender's messages sent back to back arrive in order,
/// each with its own stanza-id; a refusal for the puppet's state in the room refuses the whole run, which is what lets
/// the core hand runs over without giving up the room's order.
/// </summary>
internal static class RunScenarios
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static async Task ARunArrivesOnceInOrderAsync(IXmppTestServer server, bool stanzaIds)
    {
        var room = server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(server, [room]);
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var jid = await server.NewUserAsync("gus");
        await using var gus = await XmppPerson.JoinAsync(jid, "pass", server.C2sPort, room, "Gus");
        var runs = (IRunDelivery)bridge.Connector;
        Assert.Equal(16, runs.MaxRunInto(room));

        var run = Enumerable.Range(0, 12).Select(i => ConnectorHarness.Message(400 + i, room, "Alice", $"run {i}")).ToList();
        var results = await runs.DeliverRunAsync(run, CancellationToken.None);

        var ids = results.Select(r => Assert.IsType<DeliveryResult.Delivered>(r).NativeId).ToList();
        Assert.Equal(12, ids.Count);
        Assert.Equal(12, ids.Distinct().Count());
        var received = await gus.WaitForMessagesAsync(m => m.FromNick == "Alice", 12, Wait);
        Assert.Equal(run.Select(r => r.Event.Text), received.Select(m => m.Body));
        if (stanzaIds)
        {
            Assert.Equal(ids, received.Select(m => m.StanzaId));
        }

        // Handed over again (a restart before the core recorded them): answered from what was sent, nothing sent twice.
        var again = await runs.DeliverRunAsync(run, CancellationToken.None);
        Assert.Equal(ids[0], Assert.IsType<DeliveryResult.Delivered>(Assert.Single(again)).NativeId);
        await Task.Delay(500);
        Assert.Equal(12, gus.Messages.Count(m => m.FromNick == "Alice"));
        Assert.Empty(bridge.Sink.All); // our own reflections are never ingested
    }

    public static async Task AVoicelessRunIsRefusedWholeAsync(IXmppTestServer server)
    {
        var room = server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(server, [room]);
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var jid = await server.NewUserAsync("hal");
        await using var hal = await XmppPerson.JoinAsync(jid, "pass", server.C2sPort, room, "Hal");
        var runs = (IRunDelivery)bridge.Connector;
        Assert.IsType<DeliveryResult.Delivered>(await bridge.DeliverAsync(ConnectorHarness.Message(500, room, "Alice", "before")));
        await hal.WaitForMessagesAsync(m => m.Body == "before", 1, Wait);

        // The bot owns the room: it takes the puppet's voice, as a moderator would.
        await SetRoleAsync(bridge, server, room, "Alice", "visitor");
        var refused = await runs.DeliverRunAsync([.. Enumerable.Range(1, 6).Select(i => ConnectorHarness.Message(500 + i, room, "Alice", $"voiceless {i}"))], CancellationToken.None);

        Assert.Equal(6, refused.Count);
        // Answered as one at a time would answer each: a puppet without voice is refused for good.
        Assert.All(refused, r => Assert.Contains("forbidden", Assert.IsType<DeliveryResult.Rejected>(r).Reason, StringComparison.Ordinal));
        await SetRoleAsync(bridge, server, room, "Alice", "participant");
        var afterTrouble = await runs.DeliverRunAsync([.. Enumerable.Range(1, 3).Select(i => ConnectorHarness.Message(600 + i, room, "Alice", $"voiced {i}"))], CancellationToken.None);

        // One at a time for a while after a refusal: the core is told so, and a run handed over anyway is cut to one.
        Assert.Equal(1, runs.MaxRunInto(room));
        Assert.IsType<DeliveryResult.Delivered>(Assert.Single(afterTrouble));
        await hal.WaitForMessagesAsync(m => m.Body == "voiced 1", 1, Wait);
        await Task.Delay(300);
        Assert.DoesNotContain(hal.Messages, m => m.Body.StartsWith("voiceless", StringComparison.Ordinal));
    }

    /// <summary>
    /// A run written just before a stop, handed over again by the next process (the core had not recorded it): the next
    /// connector, with only the store in common, answers every row with the stanza-id it got the first time and sends
    /// nothing again.
    /// </summary>
    public static async Task ARunHandedOverAgainAfterARestartIsNotSentTwiceAsync(IXmppTestServer server)
    {
        var room = server.NewRoom();
        var state = new InMemoryStateStore();
        var jid = await server.NewUserAsync("ida");
        await using var ida = await XmppPerson.JoinAsync(jid, "pass", server.C2sPort, room, "Ida");
        var run = Enumerable.Range(0, 8).Select(i => ConnectorHarness.Message(700 + i, room, "Alice", $"before the stop {i}")).ToList();
        List<string> ids;
        await using (var first = await ConnectorHarness.StartAsync(server, [room], state))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(30));
            ids = [.. (await ((IRunDelivery)first.Connector).DeliverRunAsync(run, CancellationToken.None)).Select(r => Assert.IsType<DeliveryResult.Delivered>(r).NativeId)];

            // The room moves on past the run, further than the start's look-back for our own sends (20 messages), and
            // the saved position with it: only the run's send marks can tell the next process that these were sent.
            for (var i = 0; i < 25; i++)
            {
                await ida.SayConfirmedAsync($"meanwhile {i}");
            }

            await first.Sink.WaitForAsync(e => e.Text.StartsWith("meanwhile", StringComparison.Ordinal), 25, Wait);
            await Task.Delay(2500); // the position is saved a tick behind the live one
        }

        await using var second = await ConnectorHarness.StartAsync(server, [room], state);
        await second.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var again = new List<DeliveryResult>();
        var deadline = DateTime.UtcNow + Wait;
        while (again.Count < run.Count && DateTime.UtcNow < deadline)
        {
            // As the core does: the rows not answered (or answered "wait": the room still catching up) are handed over again.
            var answers = await ((IRunDelivery)second.Connector).DeliverRunAsync(run[again.Count..], CancellationToken.None);
            again.AddRange(answers.TakeWhile(a => a is not DeliveryResult.RetryLater));
            if (answers[0] is DeliveryResult.RetryLater)
            {
                await Task.Delay(50);
            }
        }

        Assert.Equal(ids, again.Select(r => Assert.IsType<DeliveryResult.Delivered>(r).NativeId));
        await Task.Delay(500);
        Assert.Equal(run.Select(r => r.Event.Text), ida.Messages.Where(m => m.FromNick == "Alice").Select(m => m.Body));
    }

    /// <summary>
    /// The component connection is cut after a run was written and the room took it, before any reflection came back
    /// (a proxy holds the server's bytes, then resets the connection): after the reconnect the core hands the rows over
    /// again, each is found in the room's archive, and everyone in the room saw each message once, in order.
    /// </summary>
    public static async Task ARunCutOffAfterItWasWrittenArrivesOnceAfterTheReconnectAsync(IXmppTestServer server)
    {
        var room = server.NewRoom();
        var jid = await server.NewUserAsync("jo");
        await using var jo = await XmppPerson.JoinAsync(jid, "pass", server.C2sPort, room, "Jo");
        await using var proxy = DelayingTcpProxy.Start(server.ComponentPort);
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", proxy.Port, server.ComponentDomain, server.Secret, [room]);
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var runs = (IRunDelivery)bridge.Connector;
        var run = Enumerable.Range(0, 6).Select(i => ConnectorHarness.Message(800 + i, room, "Alice", $"cut off {i}")).ToList();

        // Alice's puppet joins first: its join must not wait on the held bytes.
        Assert.IsType<DeliveryResult.Delivered>(await bridge.DeliverAsync(ConnectorHarness.Message(799, room, "Alice", "before the cut")));
        proxy.ToClientDelay = TimeSpan.FromSeconds(30);
        var sending = runs.DeliverRunAsync(run, CancellationToken.None);
        await jo.WaitForMessagesAsync(m => m.FromNick == "Alice" && m.Body.StartsWith("cut off", StringComparison.Ordinal), 6, Wait); // the room has all six
        proxy.SetDown(true);
        var results = await sending.WaitAsync(Wait);

        Assert.Equal(6, results.Count);
        Assert.All(results, r => Assert.StartsWith("connection lost", Assert.IsType<DeliveryResult.RetryLater>(r).Reason, StringComparison.Ordinal));
        proxy.ToClientDelay = TimeSpan.Zero;
        proxy.SetDown(false);
        var ids = await bridge.HandOverAsync(run, Wait);

        await Task.Delay(500);
        var seen = jo.Messages.Where(m => m.FromNick == "Alice" && m.Body.StartsWith("cut off", StringComparison.Ordinal)).ToList();
        Assert.Equal(run.Select(r => r.Event.Text), seen.Select(m => m.Body));
        Assert.Equal(seen.Select(m => m.StanzaId), ids);
    }

    /// <summary>
    /// A run whose reflections never came back (held past <c>sendTimeout</c>) keeps its send marks in the store however
    /// long its rows wait: a restart after the marks' usual lifetime, with the room moved on past the start's look-back,
    /// still looks each row up in the archive instead of sending it a second time.
    /// </summary>
    public static async Task AnUnconfirmedRunIsLookedUpAfterARestartLongAfterItWasSentAsync(IXmppTestServer server)
    {
        var room = server.NewRoom();
        var state = new InMemoryStateStore();
        var jid = await server.NewUserAsync("kim");
        await using var kim = await XmppPerson.JoinAsync(jid, "pass", server.C2sPort, room, "Kim");
        var run = Enumerable.Range(0, 4).Select(i => ConnectorHarness.Message(900 + i, room, "Alice", $"unconfirmed {i}")).ToList();
        await using (var proxy = DelayingTcpProxy.Start(server.ComponentPort))
        await using (var first = await ConnectorHarness.StartAsync("127.0.0.1", proxy.Port, server.ComponentDomain, server.Secret, [room], state,
                         extra: new Dictionary<string, string?> { ["sendTimeout"] = "00:00:01" }, tune: o => o.SendMarkLifetime = TimeSpan.FromSeconds(1)))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(30));
            Assert.IsType<DeliveryResult.Delivered>(await first.DeliverAsync(ConnectorHarness.Message(899, room, "Alice", "before")));
            proxy.ToClientDelay = TimeSpan.FromSeconds(3);
            var results = await ((IRunDelivery)first.Connector).DeliverRunAsync(run, CancellationToken.None);
            Assert.All(results, r => Assert.Contains("did not reflect", Assert.IsType<DeliveryResult.RetryLater>(r).Reason, StringComparison.Ordinal));
            await kim.WaitForMessagesAsync(m => m.FromNick == "Alice" && m.Body.StartsWith("unconfirmed", StringComparison.Ordinal), 4, Wait);
            proxy.ToClientDelay = TimeSpan.Zero;

            // The rows wait (a backoff, a stalled room) well past the marks' lifetime while the room moves on.
            for (var i = 0; i < 25; i++)
            {
                await kim.SayConfirmedAsync($"meanwhile {i}");
            }

            await first.Sink.WaitForAsync(e => e.Text.StartsWith("meanwhile", StringComparison.Ordinal), 25, Wait);
            await Task.Delay(2500); // past the lifetime, with the position saved a tick behind the live one
        }

        await using var second = await ConnectorHarness.StartAsync(server, [room], state);
        await second.WaitReadyAsync(TimeSpan.FromSeconds(30));
        var ids = await second.HandOverAsync(run, Wait);

        await Task.Delay(500);
        var seen = kim.Messages.Where(m => m.FromNick == "Alice" && m.Body.StartsWith("unconfirmed", StringComparison.Ordinal)).ToList();
        Assert.Equal(run.Select(r => r.Event.Text), seen.Select(m => m.Body));
        Assert.Equal(seen.Select(m => m.StanzaId), ids);
    }

    private static async Task SetRoleAsync(ConnectorHarness bridge, IXmppTestServer server, string room, string nick, string role)
    {
        XNamespace admin = "http://jabber.org/protocol/muc#admin";
        await bridge.Xmpp.SendAsync(new XElement(Protocol.Ns.Component + "iq",
            new XAttribute("type", "set"), new XAttribute("id", "role-" + Guid.NewGuid().ToString("N")),
            new XAttribute("from", server.ComponentDomain), new XAttribute("to", room),
            new XElement(admin + "query", new XElement(admin + "item", new XAttribute("nick", nick), new XAttribute("role", role)))), CancellationToken.None);
        await Task.Delay(500); // the room applies it before anything after it on the stream
    }
}
