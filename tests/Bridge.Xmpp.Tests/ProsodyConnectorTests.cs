using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Xmpp.Muc;
using Bridge.Xmpp.Tests.Fixtures;

namespace Bridge.Xmpp.Tests;

/// <summary>The connector against a real Prosody (room locking on), with real slixmpp people.</summary>
public sealed class ProsodyConnectorTests(ProsodyFixture fixture) : IClassFixture<ProsodyFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly ProsodyServer _server = fixture.Server;

    [Fact]
    public Task A_run_of_one_senders_messages_arrives_once_in_order() => RunScenarios.ARunArrivesOnceInOrderAsync(_server, stanzaIds: true);

    [Fact]
    public Task A_run_handed_over_again_after_a_restart_is_not_sent_twice() => RunScenarios.ARunHandedOverAgainAfterARestartIsNotSentTwiceAsync(_server);

    [Fact]
    public Task A_run_of_a_puppet_without_voice_is_refused_whole_and_the_room_then_gets_one_at_a_time() =>
        RunScenarios.AVoicelessRunIsRefusedWholeAsync(_server);

    [Fact]
    public Task A_run_cut_off_after_it_was_written_arrives_once_in_order_after_the_reconnect() =>
        RunScenarios.ARunCutOffAfterItWasWrittenArrivesOnceAfterTheReconnectAsync(_server);

    [Fact]
    public Task An_unconfirmed_run_is_looked_up_after_a_restart_long_after_it_was_sent() =>
        RunScenarios.AnUnconfirmedRunIsLookedUpAfterARestartLongAfterItWasSentAsync(_server);

    [Fact]
    public async Task Handshake_succeeds_with_the_right_secret_and_is_refused_with_a_wrong_one()
    {
        await using var good = await ConnectorHarness.StartAsync(_server, [_server.NewRoom()]);
        await good.WaitReadyAsync();
        Assert.Equal(1, good.Xmpp.ConnectionCount);

        await using var bad = await ConnectorHarness.StartAsync(_server, [_server.NewRoom()], secret: "wrong-secret");
        await bad.WaitForLogAsync(e => e.EventId == XmppLog.HandshakeRefused && e.Message.Contains("not-authorized"), Wait);
        Assert.False(bad.Connector.IsReady);
        Assert.Equal(0, bad.Xmpp.ConnectionCount);
        // The refused attempt must not have kicked the good connection (kick_old applies to authenticated ones only).
        Assert.True(good.Connector.IsReady);
    }

    [Fact]
    public async Task Without_an_upload_service_a_file_leaves_a_notice_and_nothing_is_read()
    {
        var room = _server.NewRoom("noupload");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("pia");
        await using var pia = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Pia");

        var request = ConnectorHarness.Message(701, room, "Quinn", "hi");
        request = request with
        {
            Event = request.Event with { Attachments = [new Attachment { Name = "a.png", ContentType = "image/png", Source = new Bridge.Core.Media.MediaSource("elsewhere", "ref") }] },
        };
        var delivered = Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(request, CancellationToken.None));
        Assert.Equal("Your file \"a.png\" was not delivered to network 'xmpp-a': that network did not accept it.", delivered.SenderNotice);
        var got = (await pia.WaitForMessagesAsync(m => m.FromNick == "Quinn", 1, Wait))[0];
        Assert.Equal("hi\n[file \"a.png\" not delivered: this network did not accept it]", got.Body);
        Assert.Contains(bridge.Logs.Entries, e => e.EventId == XmppLog.UploadService);
    }

    [Fact]
    public async Task A_new_locked_room_is_configured_so_people_can_join_it()
    {
        var room = _server.NewRoom("locked");
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        Assert.Contains(bridge.Logs.Entries, e => e.EventId == XmppLog.RoomConfigured && e.Message.Contains(room));

        var jid = await _server.NewUserAsync("carol");
        // A locked room answers item-not-found to anyone but its owner: joining proves the instant-room form was accepted.
        await using var carol = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Carol");
        Assert.Equal("Carol", carol.Nick);
    }

    [Fact]
    public async Task Messages_from_a_person_are_ingested_exactly_once_in_order()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("dave");
        await using var dave = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Dave");

        for (var i = 0; i < 10; i++)
        {
            await dave.SayConfirmedAsync($"hello {i}");
        }

        await dave.SayConfirmedAsync("/me waves");
        var events = await bridge.Sink.WaitForAsync(_ => true, 11, Wait);
        await Task.Delay(300); // anything extra (a duplicate) would arrive by now
        events = bridge.Sink.All;
        Assert.Equal(11, events.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"hello {i}").Append("waves"), events.Select(e => e.Text));
        Assert.All(events, e =>
        {
            Assert.Equal(ConnectorHarness.NetworkId, e.NetworkId);
            Assert.Equal(room, e.ChannelId);
            Assert.Equal("Dave", e.Sender.DisplayName);
        });
        Assert.Equal(MessageKind.Emote, events[^1].MessageKind);
        Assert.Equal(11, events.Select(e => e.NativeId).Distinct().Count());
        // The native id is the room's stanza-id, as the person's client saw it.
        var seen = await dave.WaitForMessagesAsync(m => m.FromNick == "Dave", 11, Wait);
        Assert.Equal(seen.Select(m => m.StanzaId), events.Select(e => e.NativeId));
        // One person, one identity: the bot created the room, so as its owner it sees real JIDs or occupant ids.
        Assert.Single(events.Select(e => e.Sender.UserId).Distinct());
    }

    [Fact]
    public async Task Messages_queued_behind_each_other_reach_the_core_together_once_and_in_order()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("erin");
        await using var erin = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Erin");

        // The core is slow to take the first message: the next 39 queue up behind it in the connector meanwhile.
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bridge.Sink.Hold = hold.Task;
        for (var i = 0; i < 40; i++)
        {
            await erin.SayConfirmedAsync($"queued {i}");
        }

        await Task.Delay(500); // the room sent the bridge each message when it reflected it to Erin
        bridge.Sink.Hold = null;
        hold.SetResult();
        await bridge.Sink.WaitForAsync(e => e.Text.StartsWith("queued ", StringComparison.Ordinal), 40, Wait);
        await Task.Delay(300); // anything extra (a duplicate) would arrive by now

        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"queued {i}"), bridge.Sink.All.Select(e => e.Text));
        Assert.Equal(40, bridge.Sink.All.Select(e => e.NativeId).Distinct().Count());
        // The first alone; the 39 behind it in one store transaction (or two, had the last few not yet arrived), not 39.
        var handOvers = bridge.Sink.HandOvers;
        Assert.Equal(1, handOvers[0]);
        Assert.InRange(handOvers.Count, 2, 3);
    }

    [Fact]
    public async Task Delivered_messages_reach_the_person_once_and_are_not_ingested_back()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("erin");
        await using var erin = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Erin");

        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var result = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(100 + i, room, "Alice", $"from alice {i}"), CancellationToken.None);
            ids.Add(Assert.IsType<DeliveryResult.Delivered>(result).NativeId);
        }

        var emote = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(200, room, "Alice", "dances", messageKind: MessageKind.Emote), CancellationToken.None);
        Assert.IsType<DeliveryResult.Delivered>(emote);

        // Delivering the same outbox row again does not send it again.
        var again = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(100, room, "Alice", "from alice 0"), CancellationToken.None);
        Assert.Equal(ids[0], Assert.IsType<DeliveryResult.Delivered>(again).NativeId);

        var received = await erin.WaitForMessagesAsync(m => m.FromNick == "Alice", 11, Wait);
        await Task.Delay(300);
        received = erin.Messages.Where(m => m.FromNick == "Alice").ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"from alice {i}").Append("/me dances"), received.Select(m => m.Body));
        Assert.Equal(ids, received.Take(10).Select(m => m.StanzaId));
        Assert.Empty(bridge.Sink.All); // our own reflections are never ingested
    }

    [Fact]
    public async Task Reactions_from_elsewhere_reach_the_person_as_full_sets()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("rita");
        await using var rita = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Rita");

        var sent = Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(300, room, "Alice", "react to me"), CancellationToken.None));
        DeliveryRequest React(long id, string key, BridgeEventKind kind = BridgeEventKind.Reaction)
        {
            var request = ConnectorHarness.Message(id, room, "Alice", "", kind: kind, target: sent.NativeId);
            return request with { Event = request.Event with { ReactionKey = key } };
        }

        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(React(301, "👍"), CancellationToken.None));
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(React(302, "🎉"), CancellationToken.None));
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(React(303, "👍", BridgeEventKind.ReactionRemoved), CancellationToken.None));
        // Nothing left to take back for 👍: not sent again.
        Assert.IsType<DeliveryResult.Skipped>(await bridge.Connector.DeliverAsync(React(304, "👍", BridgeEventKind.ReactionRemoved), CancellationToken.None));

        var deadline = DateTime.UtcNow + Wait;
        while (rita.Reactions.Count(r => r.FromNick == "Alice") < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var seen = rita.Reactions.Where(r => r.FromNick == "Alice").ToList();
        Assert.Equal(3, seen.Count);
        Assert.All(seen, r => Assert.Equal(sent.NativeId, r.TargetId));
        // The second reaction keeps the first (a client shows both); the removal sends what is left.
        Assert.Equal(["👍"], seen[0].Keys);
        Assert.Equal(["🎉", "👍"], seen[1].Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["🎉"], seen[2].Keys);
    }

    [Fact]
    public async Task A_stanza_over_the_size_limit_is_refused_with_a_notice_and_the_stream_survives()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("frank");
        await using var frank = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Frank");

        // 60,000 characters of '&' are 300,000 bytes once escaped: over the limit although the text is not.
        var result = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Alice", new string('&', 60_000)), CancellationToken.None);
        var rejected = Assert.IsType<DeliveryResult.Rejected>(result);
        Assert.Contains("too large for XMPP", rejected.Reason, StringComparison.Ordinal);
        Assert.NotNull(rejected.SenderNotice);

        // A 64 KiB text (the largest Matrix or Mattermost can hand over) still goes through, and so does the next message.
        var big = string.Join(' ', Enumerable.Repeat("word", 13_000));
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(2, room, "Alice", big), CancellationToken.None));
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(3, room, "Alice", "after"), CancellationToken.None));
        var received = await frank.WaitForMessagesAsync(m => m.FromNick == "Alice", 2, Wait);
        Assert.Equal([big, "after"], received.Select(m => m.Body));
    }

    [Fact]
    public async Task A_puppet_named_like_a_real_person_of_the_room_is_marked_with_its_network()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("alice");
        await using var realAlice = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Alice");

        var result = await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Alice", "I am the other Alice"), CancellationToken.None);
        Assert.IsType<DeliveryResult.Delivered>(result);
        var seen = await realAlice.WaitForMessagesAsync(m => m.Body == "I am the other Alice", 1, Wait);
        // Not "Alice (2)", which reads as a second Alice: the room has a real Alice, so the puppet says where it is from.
        Assert.Equal("Alice (remote)", seen[0].FromNick);

        // The real Alice's messages are still hers and still bridged; the puppet's are not.
        await realAlice.SayConfirmedAsync("the real one");
        var events = await bridge.Sink.WaitForAsync(e => e.Text == "the real one", 1, Wait);
        Assert.Equal("Alice", events[0].Sender.DisplayName);
        Assert.DoesNotContain(bridge.Sink.All, e => e.Text == "I am the other Alice");
    }

    [Fact]
    public async Task Join_history_is_not_ingested_and_an_outage_is_caught_up_from_the_archive_exactly_once()
    {
        var room = _server.NewRoom();
        var jid = await _server.NewUserAsync("frank");
        var state = new InMemoryStateStore();
        await using (var first = await ConnectorHarness.StartAsync(_server, [room], state))
        {
            await first.WaitReadyAsync();
            await using var frank0 = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Frank");
            await frank0.SayConfirmedAsync("before");
            await first.Sink.WaitForAsync(e => e.Text == "before", 1, Wait);
            await Task.Delay(2500); // let the catch-up position be saved (it trails by one tick)
        }

        await using var frank = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Frank");
        for (var i = 0; i < 5; i++)
        {
            await frank.SayConfirmedAsync($"while away {i}");
        }

        await frank.WaitForMessagesAsync(m => m.Body.StartsWith("while away", StringComparison.Ordinal), 5, Wait);

        // A fresh connector with no saved position sees none of the room's history.
        await using (var fresh = await ConnectorHarness.StartAsync(_server, [room]))
        {
            await fresh.WaitReadyAsync();
            await frank.SayConfirmedAsync("live for fresh");
            await fresh.Sink.WaitForAsync(e => e.Text == "live for fresh", 1, Wait);
            await Task.Delay(300);
            Assert.Equal(["live for fresh"], fresh.Sink.All.Select(e => e.Text));
        }

        // The bridge coming back with its saved position fetches exactly what it missed, in order, then live traffic.
        await using var second = await ConnectorHarness.StartAsync(_server, [room], state);
        await second.WaitReadyAsync();
        await frank.SayConfirmedAsync("after");
        var events = await second.Sink.WaitForAsync(e => e.Text == "after", 1, Wait);
        await Task.Delay(300);
        Assert.Equal(
            Enumerable.Range(0, 5).Select(i => $"while away {i}").Append("live for fresh").Append("after"),
            second.Sink.All.Select(e => e.Text));
    }

    [Fact]
    public async Task Component_answers_disco_ping_and_unknown_iqs()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("gina");
        var output = await ScriptRunner.RunProgramAsync("/usr/bin/python3",
            [RepoPaths.Tool("xmpp_iq.py"), jid, "pass", "127.0.0.1", _server.C2sPort.ToString(), _server.ComponentDomain,
                $"remote\\2falice@{_server.ComponentDomain}"],
            TimeSpan.FromSeconds(30));
        Assert.Contains("disco-component: gateway/xmpp", output);
        Assert.Contains("disco-puppet: client/bot", output);
        Assert.Contains("ping: ok", output);
        Assert.Contains("unknown: service-unavailable", output);
    }

    [Fact]
    public async Task Corrections_map_to_edits_in_both_directions()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("ivy");
        await using var ivy = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Ivy");

        // XMPP → core: the correction names the original by its message id; the core gets the original's native id.
        var originalId = await ivy.SayConfirmedAsync("helo");
        var original = (await bridge.Sink.WaitForAsync(e => e.Text == "helo", 1, Wait))[0];
        await ivy.CorrectAsync(originalId, "hello");
        var edit = (await bridge.Sink.WaitForAsync(e => e.Kind == BridgeEventKind.Edit, 1, Wait))[0];
        Assert.Equal("hello", edit.Text);
        Assert.Equal(original.NativeId, edit.TargetNativeId);
        Assert.NotEqual(original.NativeId, edit.NativeId);

        // core → XMPP: the core names our earlier delivery by the native id we returned; the room sees a correction.
        var delivered = Assert.IsType<DeliveryResult.Delivered>(
            await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Alice", "wrold"), CancellationToken.None));
        var correction = await bridge.Connector.DeliverAsync(
            ConnectorHarness.Message(2, room, "Alice", "world", kind: BridgeEventKind.Edit, target: delivered.NativeId), CancellationToken.None);
        Assert.IsType<DeliveryResult.Delivered>(correction);
        var seen = await ivy.WaitForMessagesAsync(m => m.Body == "world", 1, Wait);
        var first = ivy.Messages.Single(m => m.Body == "wrold");
        Assert.Equal(first.Id, seen[0].ReplaceId);
    }

    [Fact]
    public async Task A_policy_notice_reaches_the_sender_privately_from_the_bridge_bot()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("jack");
        await using var jack = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Jack");
        await jack.SayConfirmedAsync("classified stuff");
        var ev = (await bridge.Sink.WaitForAsync(e => e.Text == "classified stuff", 1, Wait))[0];

        await bridge.Connector.NotifySenderAsync(ev.Channel, ev.Sender, "Your message was not shared with org-b.", CancellationToken.None);
        var deadline = DateTime.UtcNow + Wait;
        while (jack.PrivateMessages.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }

        var notice = Assert.Single(jack.PrivateMessages);
        Assert.Equal(("bridge", "Your message was not shared with org-b."), (notice.FromNick, notice.Body));
        Assert.DoesNotContain(jack.Messages, m => m.Body.Contains("not shared", StringComparison.Ordinal)); // not in the room
    }

    [Fact]
    public Task Self_pings_are_answered_so_a_healthy_connection_is_kept() => SharedScenarios.SelfPingsKeepAHealthyConnectionAsync(_server);

    [Fact]
    public async Task A_puppet_nick_follows_the_persons_display_name()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room]);
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("kim");
        await using var kim = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Kim");

        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Alice", "one", userId: "u-alice"), CancellationToken.None));
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(ConnectorHarness.Message(2, room, "Alice Cooper", "two", userId: "u-alice"), CancellationToken.None));
        var seen = await kim.WaitForMessagesAsync(m => m.Body is "one" or "two", 2, Wait);
        Assert.Equal([("Alice", "one"), ("Alice Cooper", "two")], seen.Select(m => (m.FromNick, m.Body)));
        Assert.Empty(bridge.Sink.All);
    }

    [Fact]
    public async Task Corrections_still_map_after_a_restart()
    {
        var room = _server.NewRoom();
        var state = new InMemoryStateStore();
        var jid = await _server.NewUserAsync("max");
        await using var max = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Max");
        string originalNative, deliveredNative, originalId;
        await using (var first = await ConnectorHarness.StartAsync(_server, [room], state))
        {
            await first.WaitReadyAsync();
            originalId = await max.SayConfirmedAsync("helo");
            originalNative = (await first.Sink.WaitForAsync(e => e.Text == "helo", 1, Wait))[0].NativeId;
            deliveredNative = Assert.IsType<DeliveryResult.Delivered>(
                await first.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Alice", "wrold"), CancellationToken.None)).NativeId;
            await Task.Delay(1500); // saved in the background
        }

        await using var second = await ConnectorHarness.StartAsync(_server, [room], state);
        await second.WaitReadyAsync();
        await max.CorrectAsync(originalId, "hello");
        var edit = (await second.Sink.WaitForAsync(e => e.Kind == BridgeEventKind.Edit, 1, Wait))[0];
        Assert.Equal(originalNative, edit.TargetNativeId);

        Assert.IsType<DeliveryResult.Delivered>(await second.DeliverAsync(
            ConnectorHarness.Message(2, room, "Alice", "world", kind: BridgeEventKind.Edit, target: deliveredNative)));
        var corrected = await max.WaitForMessagesAsync(m => m.Body == "world", 1, Wait);
        Assert.Equal("bridge-1", corrected[0].ReplaceId);
    }

    [Fact]
    public async Task Corrections_and_replies_still_map_after_the_bounded_id_cache_evicted_them()
    {
        var room = _server.NewRoom();
        await using var bridge = await ConnectorHarness.StartAsync(_server, [room], tune: o => (o.RoomIdCacheSize, o.SentIdCacheSize) = (4, 4));
        await bridge.WaitReadyAsync();
        var jid = await _server.NewUserAsync("nia");
        await using var nia = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Nia");

        var originalId = await nia.SayConfirmedAsync("helo");
        var original = (await bridge.Sink.WaitForAsync(e => e.Text == "helo", 1, Wait))[0];
        Assert.NotEqual(originalId, original.NativeId); // Prosody's stanza-id: only a map turns the message id into it
        var delivered = Assert.IsType<DeliveryResult.Delivered>(
            await bridge.Connector.DeliverAsync(ConnectorHarness.Message(1, room, "Alice", "wrold"), CancellationToken.None));
        for (var i = 0; i < 10; i++)
        {
            await nia.SayConfirmedAsync($"filler {i}");
            Assert.IsType<DeliveryResult.Delivered>(
                await bridge.Connector.DeliverAsync(ConnectorHarness.Message(10 + i, room, "Alice", $"puppet filler {i}"), CancellationToken.None));
        }

        await bridge.Sink.WaitForAsync(e => e.Text == "filler 9", 1, Wait);
        var rooms = bridge.Connector is XmppConnector xmpp ? xmpp.Rooms : throw new InvalidOperationException("not the XMPP connector");
        Assert.False(rooms.Single().MessageIdToNative.Contains(originalId)); // evicted: what follows reads the saved map
        await Task.Delay(1500); // the id maps are saved in the background

        // XMPP → core: a correction of the evicted message still names its native id.
        await nia.CorrectAsync(originalId, "hello");
        var edit = (await bridge.Sink.WaitForAsync(e => e.Kind == BridgeEventKind.Edit, 1, Wait))[0];
        Assert.Equal(original.NativeId, edit.TargetNativeId);

        // core → XMPP: an edit of the evicted puppet message is still a correction naming its message id.
        Assert.IsType<DeliveryResult.Delivered>(await bridge.Connector.DeliverAsync(
            ConnectorHarness.Message(2, room, "Alice", "world", kind: BridgeEventKind.Edit, target: delivered.NativeId), CancellationToken.None));
        var corrected = await nia.WaitForMessagesAsync(m => m.Body == "world", 1, Wait);
        Assert.Equal(nia.Messages.Single(m => m.Body == "wrold").Id, corrected[0].ReplaceId);
    }

    [Fact]
    public async Task A_correction_made_while_down_maps_when_the_stop_cut_short_the_save()
    {
        // Crash storm finding (issue 13, a lost XMPP edit): a stop cancelled the background save of the id pairs; the
        // pairs were dropped, the final save still moved the position past their messages, and a correction made while
        // the bridge was down could not name its original after the restart.
        var room = _server.NewRoom();
        var state = new InMemoryStateStore();
        var jid = await _server.NewUserAsync("pia");
        await using var pia = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Pia");
        string originalNative, originalId;
        await using (var first = await ConnectorHarness.StartAsync(_server, [room], state))
        {
            await first.WaitReadyAsync();
            var held = state.HoldNextBatchWrite();
            originalId = await pia.SayConfirmedAsync("helo");
            originalNative = (await first.Sink.WaitForAsync(e => e.Text == "helo", 1, Wait))[0].NativeId;
            // Two more, so the restart's catch-up (which re-reads the message at the saved position) does not re-read it.
            await pia.SayConfirmedAsync("chatter 0");
            await pia.SayConfirmedAsync("chatter 1");
            await first.Sink.WaitForAsync(e => e.Text == "chatter 1", 1, Wait);
            await held.WaitAsync(Wait); // the save holding the original's pair is under way; the stop cuts it short
        }

        await pia.CorrectAsync(originalId, "hello");
        await using var second = await ConnectorHarness.StartAsync(_server, [room], state);
        await second.WaitReadyAsync();
        var edit = (await second.Sink.WaitForAsync(e => e.Kind == BridgeEventKind.Edit, 1, Wait))[0];
        Assert.Equal(("hello", originalNative), (edit.Text, edit.TargetNativeId));
    }

    [Fact]
    public async Task A_send_not_recorded_before_a_kill_is_not_sent_again_however_far_the_room_moved_on()
    {
        // Crash storm finding (issue 13): the daemon sent, the room reflected and archived it, the room kept talking and
        // the saved position moved well past it, then the daemon died before the core recorded the delivery.
        var room = _server.NewRoom();
        var state = new InMemoryStateStore();
        var jid = await _server.NewUserAsync("nia");
        await using var nia = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Nia");
        await using (var first = await ConnectorHarness.StartAsync(_server, [room], state))
        {
            await first.WaitReadyAsync();
            Assert.IsType<DeliveryResult.Delivered>(await first.Connector.DeliverAsync(ConnectorHarness.Message(7, room, "Alice", "only once"), CancellationToken.None));
            for (var i = 0; i < 40; i++)
            {
                await nia.SayConfirmedAsync($"chatter {i}");
            }

            await first.Sink.WaitForAsync(e => e.Text == "chatter 39", 1, Wait);
            await Task.Delay(3000); // two persistence ticks: the saved position passes our send
        }

        // The same outbox row again, as the core hands it over after the restart.
        await using var second = await ConnectorHarness.StartAsync(_server, [room], state);
        await second.WaitReadyAsync();
        Assert.IsType<DeliveryResult.Delivered>(await second.DeliverAsync(ConnectorHarness.Message(7, room, "Alice", "only once")));
        Assert.IsType<DeliveryResult.Delivered>(await second.DeliverAsync(ConnectorHarness.Message(8, room, "Alice", "after the restart")));
        await nia.WaitForMessagesAsync(m => m.Body == "after the restart", 1, Wait);
        Assert.Single(nia.Messages, m => m.Body == "only once");
    }

    [Fact]
    public async Task A_send_left_unrecorded_is_still_recognised_after_restarts_that_did_not_get_to_deliver_it()
    {
        // Crash storm finding (issue 13): the daemon sent and died before the core recorded it; the runs after it were
        // killed before the row came back, one of them purged the mark (two minutes after the send), and the next run
        // sent the row again.
        var room = _server.NewRoom();
        var state = new InMemoryStateStore();
        var jid = await _server.NewUserAsync("ona");
        await using var ona = await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Ona");
        await using (var first = await ConnectorHarness.StartAsync(_server, [room], state))
        {
            await first.WaitReadyAsync();
            Assert.IsType<DeliveryResult.Delivered>(await first.Connector.DeliverAsync(ConnectorHarness.Message(7, room, "Alice", "only once"), CancellationToken.None));
            for (var i = 0; i < 40; i++)
            {
                await ona.SayConfirmedAsync($"chatter {i}");
            }

            await first.Sink.WaitForAsync(e => e.Text == "chatter 39", 1, Wait);
            await Task.Delay(3000); // two persistence ticks: the saved position passes our send
        }

        // Restarts go on for longer than a mark's two minutes; here the send is made to look that old.
        const string marks = "xmpp:" + ConnectorHarness.NetworkId + ":sending";
        Assert.NotNull(await state.GetAsync(marks, "bridge-7", CancellationToken.None));
        await state.SetAsync(marks, "bridge-7", DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O", System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);
        await using (var cutShort = await ConnectorHarness.StartAsync(_server, [room], state))
        {
            await cutShort.WaitReadyAsync();
            await Task.Delay(2500); // persistence ticks, which purge old marks; the row does not come back in this run
        }

        await using var third = await ConnectorHarness.StartAsync(_server, [room], state);
        await third.WaitReadyAsync();
        Assert.IsType<DeliveryResult.Delivered>(await third.DeliverAsync(ConnectorHarness.Message(7, room, "Alice", "only once")));
        Assert.IsType<DeliveryResult.Delivered>(await third.DeliverAsync(ConnectorHarness.Message(8, room, "Alice", "after the restarts")));
        await ona.WaitForMessagesAsync(m => m.Body == "after the restarts", 1, Wait);
        Assert.Single(ona.Messages, m => m.Body == "only once");
    }

    [Fact]
    public async Task Expired_send_marks_are_deleted_together_in_one_store_call_per_tick()
    {
        // Issue 12 (CPU per message): one delete, and so one store commit, per message sent was a visible share of the
        // daemon's CPU at 20 msg/s; a tick's expired marks now go in one call.
        var room = _server.NewRoom();
        var state = new InMemoryStateStore();
        await using var harness = await ConnectorHarness.StartAsync(_server, [room], state, tune: o => o.SendMarkLifetime = TimeSpan.FromMilliseconds(1500));
        await harness.WaitReadyAsync();
        for (var i = 0; i < 10; i++)
        {
            Assert.IsType<DeliveryResult.Delivered>(await harness.DeliverAsync(ConnectorHarness.Message(100 + i, room, "Alice", $"marked {i}")));
        }

        const string marks = "xmpp:" + ConnectorHarness.NetworkId + ":sending";
        var deadline = DateTime.UtcNow + Wait;
        while ((await state.ListAsync(marks, CancellationToken.None)).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Empty(await state.ListAsync(marks, CancellationToken.None));
        var markDeletes = state.Deletes.Where(d => d.Scope == marks).ToList();
        Assert.Equal(10, markDeletes.Sum(d => d.Keys.Count));
        Assert.True(markDeletes.Count < 10, $"{markDeletes.Count} delete calls for 10 marks: {string.Join(" | ", markDeletes.Select(d => string.Join(",", d.Keys)))}");
    }
    [Fact]
    public async Task A_ticks_catch_up_positions_are_saved_together_in_one_store_call()
    {
        // Issue 12 (CPU per message): each room with traffic cost two commits a second (its last stanza id and its last
        // message time, each on its own); a tick's positions of every room now go in one call.
        var rooms = new[] { _server.NewRoom(), _server.NewRoom(), _server.NewRoom() };
        var state = new InMemoryStateStore();
        var people = new List<XmppPerson>();
        try
        {
            await using (var harness = await ConnectorHarness.StartAsync(_server, rooms, state))
            {
                await harness.WaitReadyAsync();
                foreach (var room in rooms)
                {
                    var jid = await _server.NewUserAsync("quill");
                    people.Add(await XmppPerson.JoinAsync(jid, "pass", _server.C2sPort, room, "Quill"));
                }

                for (var i = 0; i < 3; i++)
                {
                    foreach (var person in people)
                    {
                        await person.SayConfirmedAsync($"round {i}");
                    }
                }

                await harness.Sink.WaitForAsync(e => e.Text == "round 2", rooms.Length, Wait);
            }

            var scope = "xmpp:" + ConnectorHarness.NetworkId;
            static bool IsPosition(string key) => key.StartsWith("last-stanza-id:", StringComparison.Ordinal) || key.StartsWith("last-stamp:", StringComparison.Ordinal);
            Assert.DoesNotContain(state.Sets, s => s.Scope == scope && IsPosition(s.Key));
            var saves = state.SetManys.Where(c => c.Scope == scope && c.Keys.Any(IsPosition)).ToList();
            Assert.NotEmpty(saves);
            Assert.All(rooms, room => Assert.Contains(saves, c => c.Keys.Contains("last-stanza-id:" + room)));
            Assert.Contains(saves, c => c.Keys.Count(k => k.StartsWith("last-stanza-id:", StringComparison.Ordinal)) > 1);
        }
        finally
        {
            foreach (var person in people)
            {
                await person.DisposeAsync();
            }
        }
    }
}
