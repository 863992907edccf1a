using System.Text.RegularExpressions;
using Bridge.Core.Connectors;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// Catch-up after a (re)connection runs in the background (issue 12: start to first relayed message): the connector is
/// ready once its rooms are joined, a room's catch-up holds only that room, and within a room the archive still comes
/// before live traffic. A loopback server stands in for Prosody so one room's archive answer can be held back at will.
/// </summary>
public sealed class BackgroundCatchUpTests
{
    private const string RoomA = "a@conference.localhost";
    private const string RoomB = "b@conference.localhost";
    private const string Secret = "s3cret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_live_message_in_room_B_is_not_held_by_the_catch_up_of_room_A()
    {
        var state = new InMemoryStateStore();
        await state.SetAsync("xmpp:" + ConnectorHarness.NetworkId, "last-stanza-id:" + RoomA, "a-1", CancellationToken.None);
        await state.SetAsync("xmpp:" + ConnectorHarness.NetworkId, "last-stanza-id:" + RoomB, "b-1", CancellationToken.None);
        var releaseA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(RoomA, answerArchiveQueries: false);
            await session.AcceptBotJoinAsync(RoomB, answerArchiveQueries: false);

            // Room B has nothing to catch up: both its archive queries are answered at once.
            await AnswerEmptyAsync(session, RoomB, "<before>b-1</before>");
            await AnswerEmptyAsync(session, RoomB, "<after>b-1</after>");

            // Room A's archive is slow: nothing is answered until the test says so.
            var beforeA = await session.WaitForAsync(Query("<before>a-1</before>"), Wait);
            await releaseA.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await session.SendAsync($"<iq type='result' id='{beforeA.Groups[1].Value}' from='{RoomA}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>");
            var query = await session.WaitForAsync(Query("<after>a-1</after>"), Wait);
            await session.SendAsync($"<message from='{RoomA}' to='bridge.localhost'><result xmlns='urn:xmpp:mam:2' queryid='{query.Groups[2].Value}' id='a-2'>" +
                                    "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>" +
                                    $"<message xmlns='jabber:client' type='groupchat' from='{RoomA}/alice' id='m-a-2'><body>A: said while away</body></message></forwarded></result></message>");
            await session.SendAsync($"<iq type='result' id='{query.Groups[1].Value}' from='{RoomA}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'>" +
                                    "<set xmlns='http://jabber.org/protocol/rsm'><first>a-2</first><last>a-2</last></set></fin></iq>");
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [RoomA, RoomB], state);

        // Ready while room A's archive has not answered yet; the delivery worker is woken for it.
        await bridge.WaitReadyAsync(Wait);
        var session = (await server.WaitForSessionsAsync(1, Wait))[0];
        await session.WaitForAsync(Query("<before>a-1</before>"), Wait);
        await WaitForWakesAsync(bridge, 1);

        // Live in both rooms: B's goes through at once, A's waits behind A's archive.
        await session.SendAsync(FakeSession.GroupchatMessage(RoomA, "alice", "a-3", "A: live"));
        await session.SendAsync(FakeSession.GroupchatMessage(RoomB, "bob", "b-2", "B: live"));
        await bridge.Sink.WaitForAsync(e => e.Text == "B: live", 1, Wait);
        await Task.Delay(200);
        Assert.Equal(["B: live"], bridge.Sink.All.Select(e => e.Text));

        // Nothing is sent into room A before its catch-up has learnt what of ours is already there; the attempt does not count.
        var intoA = Assert.IsType<DeliveryResult.RetryLater>(
            await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, RoomA, "Carol", "to A"), CancellationToken.None));
        Assert.False(intoA.CountsAsAttempt);
        Assert.Contains("catching up", intoA.Reason, StringComparison.Ordinal);

        // Room A's archive answers: its older message first, then the live one that waited.
        var wakesBeforeA = bridge.Wakes.Count;
        releaseA.SetResult();
        await bridge.Sink.WaitForAsync(e => e.Text == "A: live", 1, Wait);
        await Task.Delay(200);
        Assert.Equal(["B: live", "A: said while away", "A: live"], bridge.Sink.All.Select(e => e.Text));

        // Room A open again: the worker is woken rather than left to its next poll.
        await WaitForWakesAsync(bridge, wakesBeforeA + 1);
        Assert.All(bridge.Wakes, network => Assert.Equal(ConnectorHarness.NetworkId, network));
    }

    private static async Task WaitForWakesAsync(ConnectorHarness bridge, int count)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (bridge.Wakes.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{bridge.Wakes.Count} wakes of the delivery worker, {count} expected");
            await Task.Delay(20);
        }
    }

    private static Regex Query(string marker) =>
        new("<iq [^>]*id=\"([^\"]+)\"[^>]*>\\s*<query[^>]*queryid=\"([^\"]+)\"[^>]*urn:xmpp:mam:2(?:(?!</iq>).)*?" + Regex.Escape(marker));

    private static async Task AnswerEmptyAsync(FakeSession session, string room, string marker)
    {
        var query = await session.WaitForAsync(Query(marker), Wait);
        await session.SendAsync($"<iq type='result' id='{query.Groups[1].Value}' from='{room}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>");
    }
}
