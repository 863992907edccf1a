using System.Collections.Concurrent;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Typing;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>XEP-0085 on a real Prosody: a person's composing/paused reach the typing relay (never the sink); a puppet already in the room shows typing.</summary>
public sealed class ProsodyTypingTests(ProsodyFixture fixture) : IClassFixture<ProsodyFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly ProsodyServer _server = fixture.Server;

    [Fact]
    public async Task Chat_states_are_typing_both_ways_and_never_messages()
    {
        var room = _server.NewRoom("typing");
        var typing = new RecordingTyping();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room], typing: typing);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("tess");
        await using var tess = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Tess");

        // In: composing then paused, reported as typing of Tess in the linked channel; nothing ingested.
        await tess.SendChatStateAsync("composing");
        await tess.SendChatStateAsync("paused");
        await tess.SayConfirmedAsync("a real message");
        await bridge.Sink.WaitForAsync(e => e.Text == "a real message", 1, Wait);
        Assert.Equal([(room, "Tess", true), (room, "Tess", false)], typing.Seen.Select(t => (t.Channel.ChannelId, t.Person.DisplayName, t.Typing)).ToArray());
        Assert.Single(bridge.Sink.All, e => e.NetworkId == ConnectorHarness.NetworkId);

        // Out: typing of someone whose puppet is not in the room does nothing (it never joins for typing) ...
        var target = (ITypingTarget)bridge.Connector;
        var hal = ConnectorHarness.Message(801, room, "Hal", "hi").Event.Sender;
        await target.ShowTypingAsync(new ChannelRef(ConnectorHarness.NetworkId, room), hal, true, CancellationToken.None);
        // ... and once it is, the room sees it compose and pause; its own chat states are not reported back as typing.
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(801, room, "Hal", "hi"), CancellationToken.None));
        await target.ShowTypingAsync(new ChannelRef(ConnectorHarness.NetworkId, room), hal, true, CancellationToken.None);
        await target.ShowTypingAsync(new ChannelRef(ConnectorHarness.NetworkId, room), hal, false, CancellationToken.None);
        var deadline = DateTime.UtcNow + Wait;
        while (tess.ChatStates.Count(s => s.Nick == "Hal") < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }
        Assert.Equal([("Hal", "composing"), ("Hal", "paused")], tess.ChatStates.Where(s => s.Nick == "Hal").ToArray());
        await Task.Delay(300);
        Assert.DoesNotContain(typing.Seen, t => t.Person.DisplayName == "Hal");
    }

    private sealed class RecordingTyping : ITypingSink
    {
        public ConcurrentQueue<(ChannelRef Channel, PersonRef Person, bool Typing)> Seen { get; } = new();

        public void Typing(ChannelRef channel, PersonRef person, bool typing) => Seen.Enqueue((channel, person, typing));
    }
}
