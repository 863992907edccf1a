using System.Text.RegularExpressions;
using Bridge.Core.Model;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>
/// Bad input on the component stream, from a loopback server standing in for Prosody: each is rejected with a logged
/// stream error, the connector reconnects, and the messages around the bad input are all delivered to the core.
/// </summary>
public sealed class StreamHardeningTests
{
    private const string Room = "ops@conference.localhost";
    private const string Secret = "s3cret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public Task Malformed_xml_is_rejected_and_the_connection_recovers() =>
        RunBadInputAsync("<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost'><body>broken</message>", "not-well-formed");

    [Fact]
    public Task An_undeclared_entity_reference_is_rejected() =>
        RunBadInputAsync("<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost'><body>&lol9;</body></message>", "not-well-formed");

    [Fact]
    public Task An_oversized_stanza_is_rejected_before_it_is_buffered() =>
        RunBadInputAsync($"<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost'><body>{new string('a', 300_000)}</body></message>", "policy-violation");

    [Fact]
    public Task An_unknown_top_level_namespace_is_rejected() =>
        RunBadInputAsync("<evil xmlns='urn:example:evil'><payload/></evil>", "invalid-namespace");

    [Fact]
    public Task A_processing_instruction_is_rejected() =>
        RunBadInputAsync("<?evil instruction?>", "restricted-xml");

    [Fact]
    public Task Deeply_nested_elements_are_rejected() =>
        RunBadInputAsync("<message type='groupchat' from='ops@conference.localhost/eve' to='bridge.localhost'>" + string.Concat(Enumerable.Repeat("<x xmlns='urn:a'>", 200)) +
                         string.Concat(Enumerable.Repeat("</x>", 200)) + "</message>", "policy-violation");

    [Fact]
    public async Task An_entity_expansion_bomb_in_the_stream_prolog_is_refused_and_the_connector_retries()
    {
        const string bomb = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>" +
                            "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>";
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            if (index == 0)
            {
                await session.HandshakeAsync(Secret, prolog: bomb);
                return;
            }

            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            await session.SendAsync(FakeSession.GroupchatMessage(Room, "alice", "s-1", "after the bomb"));
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        var events = await bridge.Sink.WaitForAsync(e => e.Text == "after the bomb", 1, Wait);
        Assert.Single(events);
        Assert.Contains(bridge.Logs.Entries, e => e.EventId == XmppLog.ConnectFailed || e.EventId == XmppLog.RejectedInput);
        Assert.Contains("<restricted-xml", server.Sessions[0].Received);
    }

    [Fact]
    public async Task The_handshake_is_the_sha1_of_stream_id_and_secret_and_a_refusal_is_retried()
    {
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            // The first attempt is refused as if the secret were wrong; the connector must back off and try again.
            if (index == 0)
            {
                await session.WaitForAsync(new Regex("<stream:stream[^>]*>"));
                await session.SendAsync("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x1'>");
                await session.WaitForAsync(new Regex("</handshake>"));
                await session.SendAsync("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
                return;
            }

            Assert.True(await session.HandshakeAsync(Secret, streamId: "1234567890"));
            await session.AcceptBotJoinAsync(Room);
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.WaitReadyAsync(Wait);
        Assert.Contains(bridge.Logs.Entries, e => e.EventId == XmppLog.HandshakeRefused && e.Message.Contains("not-authorized"));
        Assert.Equal(1, bridge.Xmpp.ConnectionCount);
        Assert.Null(server.Sessions[1].Failure);
    }

    [Fact]
    public async Task Retractions_reactions_replies_labels_and_emotes_are_mapped()
    {
        const string r = Room;
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room, nonAnonymous: true);
            await session.SendAsync(
                $"<presence from='{r}/alice' to='bridge.localhost'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='alice@example.org/phone'/></x></presence>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a1'><body>original</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S1'/>" +
                "<securitylabel xmlns='urn:xmpp:sec-label:0'><displaymarking>SECRET</displaymarking><label/></securitylabel></message>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a2'><body>&gt; original\nquoted answer</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S2'/>" +
                "<reply xmlns='urn:xmpp:reply:0' id='S1' to='" + r + "/alice'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='11'/></fallback></message>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a3'><reactions xmlns='urn:xmpp:reactions:0' id='S1'><reaction>👍</reaction></reactions><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S3'/></message>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a4'><retract xmlns='urn:xmpp:message-retract:1' id='S1'/><body>retracted</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S4'/></message>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a5'><body>/me waves</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S5'/>" +
                // XEP-0258 without a display marking: the label payload's text stands (R-S1 then ranks it).
                "<securitylabel xmlns='urn:xmpp:sec-label:0'><label><esssecuritylabel xmlns='urn:xmpp:sec-label:ess:0'>MQYCAQQGASk=</esssecuritylabel></label></securitylabel>" +
                "<securitylabel xmlns='urn:xmpp:sec-label:0'><displaymarking/></securitylabel></message>" +
                // Not bridged: a copy addressed to a puppet, delayed history, our own reflection, a chat state, the room's subject.
                $"<message type='groupchat' from='{r}/alice' to='someone@bridge.localhost' id='a6'><body>puppet copy</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S6'/></message>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a7'><body>old history</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>" +
                $"<message type='groupchat' from='{r}/Alice (remote)' to='bridge.localhost' id='bridge-99'><body>our own</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S8'/></message>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a9'><active xmlns='http://jabber.org/protocol/chatstates'/></message>" +
                $"<message type='groupchat' from='{r}' to='bridge.localhost' id='a10'><subject>topic</subject></message>" +
                // A reply whose client quoted the parent without marking the fallback: the quote is not the author's (R-K3).
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a10b'><body>&gt; original\n\nunmarked answer</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S10'/>" +
                "<reply xmlns='urn:xmpp:reply:0' id='S1'/></message>" +
                $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='a11'><body>last</body><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='S11'/><securitylabel xmlns='urn:xmpp:sec-label:0'/></message>");
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.Sink.WaitForAsync(e => e.Text == "last", 1, Wait);
        var events = bridge.Sink.All;
        // A reactions stanza is the person's full set: each key it adds is one reaction, with an id derived from the stanza's.
        Assert.Equal(["S1", "S2", "S3#+👍", "S4", "S5", "S10", "S11"], events.Select(e => e.NativeId));
        Assert.All(events, e => Assert.Equal("alice@example.org", e.Sender.UserId)); // the room shows real JIDs here
        Assert.Equal(["SECRET"], events[0].StructuredLabels);
        Assert.Equal(("quoted answer", "S1"), (events[1].Text, events[1].ReplyToNativeId));
        Assert.Equal((BridgeEventKind.Reaction, "👍", "S1"), (events[2].Kind, events[2].ReactionKey, events[2].TargetNativeId));
        Assert.Equal((BridgeEventKind.Delete, "S1"), (events[3].Kind, events[3].TargetNativeId));
        Assert.Equal((MessageKind.Emote, "waves"), (events[4].MessageKind, events[4].Text));
        // Present but empty or unreadable labels are kept, so the core ranks them highest (fail closed).
        Assert.Equal(["MQYCAQQGASk=", ""], events[4].StructuredLabels);
        Assert.Equal(("unmarked answer", "S1"), (events[5].Text, events[5].ReplyToNativeId));
        Assert.Equal([StructuredLabel.NotAString], events[6].StructuredLabels);
    }

    [Fact]
    public async Task Each_reactions_stanza_is_a_full_set_so_a_second_reaction_adds_and_a_missing_key_is_a_removal()
    {
        const string r = Room;
        string Reactions(string id, string stanzaId, params string[] keys) =>
            $"<message type='groupchat' from='{r}/alice' to='bridge.localhost' id='{id}'><reactions xmlns='urn:xmpp:reactions:0' id='S1'>" +
            string.Concat(keys.Select(k => $"<reaction>{k}</reaction>")) + $"</reactions><stanza-id xmlns='urn:xmpp:sid:0' by='{r}' id='{stanzaId}'/></message>";
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            await session.SendAsync(
                FakeSession.GroupchatMessage(r, "alice", "S1", "react to me") +
                Reactions("a2", "S2", "👍") +
                Reactions("a3", "S3", "👍", "🎉") + // the second reaction: the first stays
                Reactions("a4", "S4", "🎉") +       // 👍 taken back
                Reactions("a5", "S5") +             // everything taken back
                FakeSession.GroupchatMessage(r, "alice", "S6", "last"));
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.Sink.WaitForAsync(e => e.Text == "last", 1, Wait);
        var reactions = bridge.Sink.All.Where(e => e.Kind is BridgeEventKind.Reaction or BridgeEventKind.ReactionRemoved)
            .Select(e => (e.Kind, e.ReactionKey, e.TargetNativeId)).ToList();
        Assert.Equal(
        [
            (BridgeEventKind.Reaction, "👍", "S1"),
            (BridgeEventKind.Reaction, "🎉", "S1"),
            (BridgeEventKind.ReactionRemoved, "👍", "S1"),
            (BridgeEventKind.ReactionRemoved, "🎉", "S1"),
        ], reactions);
    }

    [Fact]
    public async Task A_connection_that_stops_answering_is_replaced()
    {
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            if (index == 1)
            {
                await session.SendAsync(FakeSession.GroupchatMessage(Room, "alice", "s-1", "on the new connection"));
            }

            // The fake never answers the self-ping: to the connector this server is silently gone.
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room], extra: new Dictionary<string, string?>
        {
            ["keepAliveInterval"] = "00:00:00.300",
            ["joinTimeout"] = "00:00:01",
        });
        await bridge.Sink.WaitForAsync(e => e.Text == "on the new connection", 1, Wait);
        await server.Sessions[0].WaitForAsync(new Regex("<ping xmlns=\"urn:xmpp:ping\""), Wait);
        await server.Sessions[0].WaitForAsync(new Regex("<connection-timeout "), Wait);
        Assert.True(bridge.Xmpp.ConnectionCount >= 2);
    }

    [Theory]
    [InlineData("registration-required", "auth")]
    [InlineData("forbidden", "auth")]
    public async Task A_room_that_refuses_a_puppet_is_not_asked_again_in_a_loop(string condition, string errorType)
    {
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            var join = await session.WaitForAsync(new Regex($"<presence[^>]*from=\"([^\"]+@bridge.localhost)\"[^>]*to=\"{Regex.Escape(Room)}/([^\"]+)\""), Wait);
            await session.SendAsync($"<presence type='error' from='{Room}/{join.Groups[2].Value}' to='{join.Groups[1].Value}'>" +
                                    $"<error type='{errorType}'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>");
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.WaitReadyAsync(Wait);
        var first = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, Room, "Mallory", "hi"), CancellationToken.None);
        Assert.Contains(condition, Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Rejected>(first).Reason);
        var second = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(2, Room, "Mallory", "again"), CancellationToken.None);
        Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Rejected>(second);
        await Task.Delay(200);
        // One join attempt for the puppet, no retry loop, no message sent.
        Assert.Single(new Regex("<presence[^>]*from=\"mallory|<presence[^>]*from=\"remote\\\\2fmallory").Matches(server.Sessions[0].Received));
        Assert.DoesNotContain("<body>hi</body>", server.Sessions[0].Received);
    }

    [Fact]
    public async Task A_real_person_speaking_under_the_nick_a_puppet_is_still_trying_is_bridged()
    {
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            var join = await session.WaitForAsync(new Regex($"<presence[^>]*from=\"([^\"]+@bridge.localhost)\"[^>]*to=\"{Regex.Escape(Room)}/Zed\""), Wait);
            var puppet = join.Groups[1].Value;
            // The real Zed speaks before the room answers the puppet's join with a conflict.
            await session.SendAsync(FakeSession.GroupchatMessage(Room, "Zed", "s-zed", "the real Zed"));
            await session.SendAsync($"<presence type='error' from='{Room}/Zed' to='{puppet}'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>");
            await session.WaitForAsync(new Regex($"to=\"{Regex.Escape(Room)}/Zed \\(2\\)\""), Wait);
            await session.SendAsync($"<presence from='{Room}/Zed (2)' to='{puppet}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>");
            var message = await session.WaitForAsync(new Regex("<message[^>]*id=\"(bridge-1)\""), Wait);
            await session.SendAsync($"<message type='groupchat' from='{Room}/Zed (2)' to='bridge.localhost' id='bridge-1'><body>the puppet</body><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='s-puppet'/></message>");
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.WaitReadyAsync(Wait);
        var result = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, Room, "Zed", "the puppet"), CancellationToken.None);
        Assert.Equal("s-puppet", Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Delivered>(result).NativeId);
        await Task.Delay(200);
        Assert.Equal(["the real Zed"], bridge.Sink.All.Select(e => e.Text));
    }

    [Fact]
    public async Task A_channel_without_a_domain_is_a_room_of_the_muc_service_and_is_reported_as_configured()
    {
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            await session.SendAsync(FakeSession.GroupchatMessage(Room, "alice", "s-1", "short name"));
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, ["ops"],
            extra: new Dictionary<string, string?> { ["mucService"] = "conference.localhost" });
        var events = await bridge.Sink.WaitForAsync(e => e.Text == "short name", 1, Wait);
        Assert.Equal("ops", events[0].ChannelId);
        await bridge.WaitReadyAsync(Wait);
        var delivered = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, "unknown-room", "Alice", "x"), CancellationToken.None);
        Assert.IsType<Bridge.Core.Connectors.DeliveryResult.Rejected>(delivered);
    }

    [Fact]
    public async Task Live_messages_arriving_during_a_catch_up_are_passed_on_after_the_archived_ones()
    {
        // The stream breaks only once the first message is in: the connector notes its position just after the core
        // took it, and a reconnect before that would (rightly) start as in a new room, which is not what this tests.
        var firstTaken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            if (index == 0)
            {
                await session.AcceptBotJoinAsync(Room);
                await session.SendAsync(FakeSession.GroupchatMessage(Room, "alice", "s-1", "one (live)"));
                await firstTaken.Task.WaitAsync(Wait);
                await Task.Delay(200);
                await session.SendAsync("<not-closed></mismatched>");
                return;
            }

            await session.AcceptBotJoinAsync(Room, answerArchiveQueries: false);
            // At start the connector first reads the page before its saved position for its own recent sends: none here.
            var before = await session.WaitForAsync(new Regex("<iq [^>]*id=\"([^\"]+)\"[^>]*>\\s*<query[^>]*urn:xmpp:mam:2(?:(?!</iq>).)*?<before>s-1</before>"), Wait);
            await session.SendAsync($"<iq type='result' id='{before.Groups[1].Value}' from='{Room}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>");
            var query = await session.WaitForAsync(new Regex("<iq [^>]*id=\"([^\"]+)\"[^>]*>\\s*<query[^>]*queryid=\"([^\"]+)\"[^>]*urn:xmpp:mam:2(?:(?!</iq>).)*?<after>s-1</after>"), Wait);
            // A live message overtakes the archive page that holds an older one.
            await session.SendAsync(FakeSession.GroupchatMessage(Room, "alice", "s-3", "three (live)"));
            await session.SendAsync($"<message from='{Room}' to='bridge.localhost'><result xmlns='urn:xmpp:mam:2' queryid='{query.Groups[2].Value}' id='s-2'>" +
                                    "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>" +
                                    $"<message xmlns='jabber:client' type='groupchat' from='{Room}/alice' id='m-2'><body>two (archived)</body></message></forwarded></result></message>");
            await session.SendAsync($"<message from='{Room}' to='bridge.localhost'><result xmlns='urn:xmpp:mam:2' queryid='{query.Groups[2].Value}' id='s-1'>" +
                                    "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>" +
                                    $"<message xmlns='jabber:client' type='groupchat' from='{Room}/alice' id='m-1'><body>one (live)</body></message></forwarded></result></message>");
            await session.SendAsync($"<iq type='result' id='{query.Groups[1].Value}' from='{Room}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'>" +
                                    "<set xmlns='http://jabber.org/protocol/rsm'><first>s-2</first><last>s-1</last></set></fin></iq>");
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        await bridge.Sink.WaitForAsync(e => e.Text == "one (live)", 1, Wait);
        firstTaken.SetResult();
        await bridge.Sink.WaitForAsync(e => e.Text == "three (live)", 1, Wait);
        await Task.Delay(200);
        Assert.Equal(["one (live)", "two (archived)", "three (live)"], bridge.Sink.All.Select(e => e.Text));
        Assert.Equal(["s-1", "s-2", "s-3"], bridge.Sink.All.Select(e => e.NativeId));
    }

    [Fact]
    public async Task A_live_correction_that_overtakes_the_save_still_maps()
    {
        // Crash storm finding (issue 13, a lost XMPP edit): a live correction arrived while the catch-up was reading the
        // archive page holding its original. It was classified before the original (so not resolved then), and the
        // worker looked only in the saved map, which the background save had not reached yet.
        var state = new InMemoryStateStore();
        await state.SetAsync("xmpp:" + ConnectorHarness.NetworkId, "last-stanza-id:" + Room, "s-1", CancellationToken.None);
        _ = state.HoldNextBatchWrite(); // the save of the original's pair does not get there before the correction
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room, answerArchiveQueries: false);
            var before = await session.WaitForAsync(new Regex("<iq [^>]*id=\"([^\"]+)\"[^>]*>\\s*<query[^>]*urn:xmpp:mam:2(?:(?!</iq>).)*?<before>s-1</before>"), Wait);
            await session.SendAsync($"<iq type='result' id='{before.Groups[1].Value}' from='{Room}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>");
            var query = await session.WaitForAsync(new Regex("<iq [^>]*id=\"([^\"]+)\"[^>]*>\\s*<query[^>]*queryid=\"([^\"]+)\"[^>]*urn:xmpp:mam:2(?:(?!</iq>).)*?<after>s-1</after>"), Wait);
            await session.SendAsync($"<message type='groupchat' from='{Room}/alice' to='bridge.localhost' id='m-3'><body>hello</body>" +
                                    $"<replace xmlns='urn:xmpp:message-correct:0' id='m-2'/><stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='s-3'/></message>");
            await session.SendAsync($"<message from='{Room}' to='bridge.localhost'><result xmlns='urn:xmpp:mam:2' queryid='{query.Groups[2].Value}' id='s-2'>" +
                                    "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>" +
                                    $"<message xmlns='jabber:client' type='groupchat' from='{Room}/alice' id='m-2'><body>helo</body></message></forwarded></result></message>");
            await session.SendAsync($"<iq type='result' id='{query.Groups[1].Value}' from='{Room}' to='bridge.localhost'><fin xmlns='urn:xmpp:mam:2' complete='true'>" +
                                    "<set xmlns='http://jabber.org/protocol/rsm'><first>s-2</first><last>s-2</last></set></fin></iq>");
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room], state);
        var edit = (await bridge.Sink.WaitForAsync(e => e.Kind == BridgeEventKind.Edit, 1, Wait))[0];
        Assert.Equal(["helo", "hello"], bridge.Sink.All.Select(e => e.Text));
        Assert.Equal(("s-3", "s-2"), (edit.NativeId, edit.TargetNativeId));
    }

    private static async Task RunBadInputAsync(string badInput, string expectedCondition)
    {
        await using var server = new FakeComponentServer(async (session, index) =>
        {
            Assert.True(await session.HandshakeAsync(Secret));
            await session.AcceptBotJoinAsync(Room);
            if (index == 0)
            {
                await session.SendAsync(FakeSession.GroupchatMessage(Room, "alice", "s-1", "before"));
                await session.SendAsync(badInput);
                return;
            }

            // The connector comes back knowing where it was: it asks the archive, then the room carries on.
            await session.WaitForArchiveQueryAsync();
            await session.SendAsync(FakeSession.GroupchatMessage(Room, "alice", "s-2", "after"));
        });
        await using var bridge = await ConnectorHarness.StartAsync("127.0.0.1", server.Port, "bridge.localhost", Secret, [Room]);
        try
        {
            await bridge.Sink.WaitForAsync(e => e.Text == "after", 1, Wait);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\n" + bridge.Dump(), ex);
        }

        await Task.Delay(200);
        Assert.Equal(["before", "after"], bridge.Sink.All.Select(e => e.Text));
        Assert.Contains(bridge.Logs.Entries, e => e.EventId == XmppLog.RejectedInput && e.Message.Contains(expectedCondition));
        var first = server.Sessions[0];
        await first.WaitForAsync(new Regex($"<stream:error[^>]*><{expectedCondition} "), Wait);
        Assert.Equal(2, bridge.Xmpp.ConnectionCount);
        Assert.All(server.Sessions, s => Assert.Null(s.Failure));
        await bridge.WaitReadyAsync(Wait);
    }
}
