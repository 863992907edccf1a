using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// XEP-0201 threads with XEP-0461 replies, and XEP-0372 mention references, against a real Prosody with a real
/// slixmpp person: out (the thread id is the root's stanza-id; a mention is the nick with a reference) and in.
/// </summary>
public sealed class ThreadAndMentionTests(ProsodyFixture fixture) : IClassFixture<ProsodyFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly ProsodyServer _server = fixture.Server;

    [Fact]
    public async Task A_message_in_a_thread_carries_the_thread_id_a_reply_and_references_to_the_nicks_it_mentions()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        await using var dave = await XmppPerson.JoinAsync(await _server.NewUserAsync("dave"), "pass", _server.C2sPort, room, "Dave");
        await dave.SayConfirmedAsync("the root");
        var root = (await bridge.Sink.WaitForAsync(e => e.Text == "the root", 1, Wait)).Single();

        // Frank (remote) speaks first, so his puppet is in the room; then Erin mentions Dave (from here) and Frank.
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Frank", "hello"), CancellationToken.None));
        var request = ConnectorHarness.Message(2, room, "Erin", "✨ Dave and @frank, see") with { ThreadRootNativeId = root.NativeId };
        request = request with
        {
            Event = request.Event with
            {
                ThreadRootNativeId = "remote-root",
                Mentions =
                [
                    new Mention { Person = root.Sender, Written = "Dave" },
                    new Mention { Person = new PersonRef { NetworkId = ConnectorHarness.RemoteNetworkId, UserId = "frank", DisplayName = "Frank" }, Written = "@frank" },
                ],
            },
        };
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));

        var got = (await dave.WaitForMessagesAsync(m => m.FromNick == "Erin", 1, Wait)).Single();
        Assert.Equal("✨ Dave and Frank, see", got.Body);
        Assert.Equal((root.NativeId, root.NativeId), (got.Thread, got.ReplyId));
        Assert.Equal(
            [new ReceivedReference("mention", $"xmpp:{room}/Dave", "2", "6"), new ReceivedReference("mention", $"xmpp:{room}/Frank", "11", "16")],
            got.References);
    }

    [Fact]
    public async Task A_thread_id_and_mention_references_from_a_client_become_the_thread_root_and_the_people_behind_the_nicks()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        await using var dave = await XmppPerson.JoinAsync(await _server.NewUserAsync("dave"), "pass", _server.C2sPort, room, "Dave");
        await using var gina = await XmppPerson.JoinAsync(await _server.NewUserAsync("gina"), "pass", _server.C2sPort, room, "Gina");
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Frank", "hello"), CancellationToken.None));
        await dave.WaitForMessagesAsync(m => m.FromNick == "Frank", 1, Wait);
        await gina.SayConfirmedAsync("gina here");
        var ginaPerson = (await bridge.Sink.WaitForAsync(e => e.Text == "gina here", 1, Wait)).Single().Sender;

        await dave.SayAsync("Frank, Gina: ok", thread: "thread-7", replyTo: null,
            [($"xmpp:{room}/Frank", 0, 5), ($"xmpp:{room}/Gina", 7, 11), ($"xmpp:{room}/Nobody", 0, 5)]);
        var ev = (await bridge.Sink.WaitForAsync(e => e.Text == "Frank, Gina: ok", 1, Wait)).Single();
        Assert.Equal("thread-7", ev.ThreadRootNativeId);
        Assert.Equal(2, ev.Mentions.Count);
        Assert.Equal((ConnectorHarness.RemoteNetworkId, "frank", "Frank"), (ev.Mentions[0].Person.NetworkId, ev.Mentions[0].Person.UserId, ev.Mentions[0].Written));
        Assert.Equal((ginaPerson.UserId, "Gina"), (ev.Mentions[1].Person.UserId, ev.Mentions[1].Written));
    }
}
