using System.Text.RegularExpressions;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Xmpp.Tests.Fixtures;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// Room set-up is paced (issue 12, scale): started all at once, 1,000 new rooms put every join, room unlock and archive
/// query in front of Prosody in the same instant, and ~1,480 of them hit the 10 s timeout. A loopback server stands in
/// for Prosody, answers one request at a time and counts how many wait on it at once.
/// </summary>
public sealed class JoinPacingTests
{
    private const string Secret = "s3cret";
    private const int RoomCount = 24;
    private const int Bound = 3;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>A join presence, a room unlock (muc#owner) or an archive query (mam), from the start tag on.</summary>
    private static readonly Regex Request = new(
        "<presence [^>]*to=\"([^\"/]+)/([^\"]+)\"[^>]*>|<iq [^>]*>\\s*<query[^>]*?xmlns=\"(http://jabber.org/protocol/muc#owner|urn:xmpp:mam:2)\"");

    [Fact]
    public async Task Joins_unlocks_and_archive_queries_of_new_rooms_never_exceed_the_bound_in_flight()
    {
        var rooms = Enumerable.Range(0, RoomCount).Select(i => $"r{i}@conference.localhost").ToList();
        var mostInFlight = 0;
        var positionsAnswered = 0;
        await using var server = new FakeComponentServer(async (session, _) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            var outstanding = new Queue<Match>();
            var consumed = 0;
            while (Volatile.Read(ref positionsAnswered) < RoomCount)
            {
                var received = session.Received;
                for (var m = Request.Match(received, consumed); m.Success; m = m.NextMatch())
                {
                    outstanding.Enqueue(m);
                    consumed = m.Index + m.Length;
                }

                mostInFlight = Math.Max(mostInFlight, outstanding.Count);
                if (outstanding.TryDequeue(out var request))
                {
                    await AnswerAsync(session, request, received);
                    if (request.Groups[3].Value == "urn:xmpp:mam:2")
                    {
                        Interlocked.Increment(ref positionsAnswered);
                    }
                }

                // One answer per turn, like a busy server: whatever the connector has in flight piles up meanwhile.
                await Task.Delay(10);
            }
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, rooms,
            extra: new Dictionary<string, string?> { ["joinConcurrency"] = Bound.ToString() });

        await bridge.WaitReadyAsync(Wait);
        var deadline = DateTime.UtcNow + Wait;
        while (Volatile.Read(ref positionsAnswered) < RoomCount)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{positionsAnswered} of {RoomCount} archive positions asked for; log:\n{bridge.Dump()}");
            await Task.Delay(20);
        }

        Assert.Null(server.Sessions[0].Failure);
        Assert.True(mostInFlight <= Bound, $"{mostInFlight} requests waited on the server at once; the bound is {Bound}");
        Assert.Equal(RoomCount, bridge.Logs.Entries.Count(e => e.EventId.Name == "RoomConfigured"));
        Assert.DoesNotContain(bridge.Logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("257", false)]
    [InlineData("1", true)]
    [InlineData("64", true)]
    public void The_bound_is_checked_at_start(string value, bool valid)
    {
        var section = ConnectorHarness.Section("127.0.0.1", 5347, "bridge.localhost", "s", new Dictionary<string, string?> { ["joinConcurrency"] = value });
        var network = new NetworkDefinition { Id = ConnectorHarness.NetworkId, Kind = NetworkKind.Xmpp };
        var keys = new XmppConnectorFactory().Validate(network, section).Select(e => e.Key).ToList();
        Assert.Equal(valid ? [] : ["networks:xmpp-a:xmpp:joinConcurrency"], keys);
    }

    /// <summary>Prosody's answers: a new room (status 201, so the connector unlocks it), an empty unlock result, an empty complete archive.</summary>
    private static Task AnswerAsync(FakeSession session, Match request, string received)
    {
        if (request.Groups[1].Success)
        {
            var room = request.Groups[1].Value;
            var nick = request.Groups[2].Value;
            return session.SendAsync($"<presence from='{room}/{nick}' to='bridge.localhost'><x xmlns='http://jabber.org/protocol/muc#user'>" +
                                     "<item affiliation='owner' role='moderator'/><status code='110'/><status code='201'/></x></presence>");
        }

        var tag = received[request.Index..(received.IndexOf('>', request.Index) + 1)];
        var id = Regex.Match(tag, "id=\"([^\"]+)\"").Groups[1].Value;
        var to = Regex.Match(tag, "to=\"([^\"]+)\"").Groups[1].Value;
        return session.SendAsync(request.Groups[3].Value == "urn:xmpp:mam:2"
            ? $"<iq type='result' id='{id}' from='{to}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>"
            : $"<iq type='result' id='{id}' from='{to}' to='bridge.localhost'/>");
    }
}
