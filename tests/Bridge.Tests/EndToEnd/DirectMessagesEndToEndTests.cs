using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Bridge.Testing;
using Microsoft.Data.Sqlite;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Direct chats across networks through the real daemon, real Prosody and both sandboxes: a Matrix person invites a
/// Mattermost person's puppet into a room marked direct and they chat in a Mattermost DM, a Mattermost person opens a DM
/// with a Matrix person's puppet and the puppet of that person invites the Matrix person into a direct room, a restart
/// keeps the portals (no second room or channel), and a chat the policy refuses is rejected with nothing crossing.
/// Matrix ⇄ XMPP the same way: an XMPP person's chat message to a Matrix person's puppet JID, a Matrix person's invite
/// of an XMPP person's puppet, corrections and retractions, a restart, a barrier, and direct messages off on one side.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DirectMessagesEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    private static Task<ThreeNetworks> StartAsync(string? policy = null) =>
        ThreeNetworks.StartAsync(configure: b =>
        {
            b.NetworkKey("matrix", "directMessages", "true").NetworkKey("mm", "directMessages", "true").NetworkKey("xmpp", "directMessages", "true");
            if (policy is not null)
            {
                b.Raw(policy);
            }
        });

    [Fact]
    public async Task Matrix_and_Mattermost_people_chat_directly_both_ways_and_a_restart_keeps_the_portals()
    {
        const string viewerToken = "e2e-viewer-token-0123456789abcdef";
        const string operatorToken = "e2e-operator-token-0123456789abcdef";
        var adminPort = FreePorts.Next();
        await using var net = await StartAsync($$"""
            admin:
              listen: http://127.0.0.1:{{adminPort}}
              tokens:
                console: { hash: "{{Bridge.Host.Admin.Access.TokenHash.Of(viewerToken)}}", role: viewer }
                ops-alice: { hash: "{{Bridge.Host.Admin.Access.TokenHash.Of(operatorToken)}}", role: operator }
            """);
        await net.StartBridgeAsync();
        var frank = net.Mm.CreateUser("frank");
        net.Mm.AddToTeam(net.Seed!.Team.Id, frank.Id);

        // Each person speaks once in the shared channel, so each has a puppet on the other network.
        var (carolPuppet, bobPuppet) = await GreetAsync(net);

        // Matrix → Mattermost: Bob starts a DM with Carol's puppet as his client does (createRoom, is_direct, invite);
        // Carol's own client finds the DM with Bob's puppet (POST /channels/direct returns the existing one).
        var (room, dm) = await OpenDirectRoomAsync(net, carolPuppet, bobPuppet);
        using var carolApi = await LoginAsync(net, "carol");
        Assert.Equal(bobPuppet, Posts(net, dm, "dm-bob-1").Single().UserId);
        Assert.Empty(net.MattermostPosts("dm-bob-1"));

        net.Mm.Post(net.Carol!.Id, dm, "dm-carol-1");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, room, "dm-carol-1").Count == 1, Long, "Carol's answer in Bob's direct room");
        Assert.Equal(carolPuppet, RoomMessages(net, room, "dm-carol-1").Single().Sender);
        Assert.Empty(net.MatrixMessages("dm-carol-1"));

        // Mattermost → Matrix: Frank opens a DM with Bob's puppet and writes first.
        using var frankApi = await LoginAsync(net, "frank");
        var frankDm = await DirectChannelAsync(frankApi, frank.Id, bobPuppet);
        net.Mm.Post(frank.Id, frankDm, "dm-frank-1");
        string? frankRoom = null;
        await ThreeNetworks.WaitUntilAsync(() => (frankRoom = InvitedDirectRoom(net, net.Bob!.UserId, room)) is not null, Long, "Bob invited into a direct room by Frank's puppet");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, frankRoom!, "dm-frank-1").Count == 1, Long, "Frank's first message in the new room");
        var frankPuppet = RoomMessages(net, frankRoom!, "dm-frank-1").Single().Sender;
        Assert.StartsWith("@_bridge_mm_frank_", frankPuppet, StringComparison.Ordinal);
        Assert.NotEqual(100, PowerOf(net, frankRoom!, net.Bob!.UserId)); // private_chat: the invitee cannot invite others in
        net.Hs.Join(frankRoom!, net.Bob.UserId);
        net.Hs.SendMessage(frankRoom!, net.Bob.UserId, "dm-bob-to-frank");
        await ThreeNetworks.WaitUntilAsync(() => Posts(net, frankDm, "dm-bob-to-frank").Count == 1, Long, "Bob's answer in Frank's DM");

        // A restart keeps both portals: the same room and channel carry on, and nothing new is made.
        await net.StartBridgeAsync();
        net.Hs.SendMessage(room, net.Bob.UserId, "dm-bob-2");
        net.Mm.Post(frank.Id, frankDm, "dm-frank-2");
        await ThreeNetworks.WaitUntilAsync(() => Posts(net, dm, "dm-bob-2").Count == 1, Long, "Bob's message after the restart in the same DM");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, frankRoom!, "dm-frank-2").Count == 1, Long, "Frank's message after the restart in the same room");
        net.Mm.Post(net.Carol.Id, dm, "dm-carol-2");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, room, "dm-carol-2").Count == 1, Long, "Carol's message after the restart in the same room");
        Assert.Null(InvitedDirectRoom(net, net.Bob.UserId, room, frankRoom!));
        Assert.Equal(dm, await DirectChannelAsync(carolApi, net.Carol.Id, bobPuppet));

        // Each portal opened once, on record; every message of a DM has its policy decision, as on any link.
        Assert.Equal(2L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-opened'"));
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision <> 'direct-opened'"));
        Assert.True(Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'decision' AND link_id LIKE 'dm-%'") >= 7);

        // Operators see the portals (GET /api/direct, and as links of source "direct"), and cannot change them as links.
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(20) };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", viewerToken);
        var portals = System.Text.Json.Nodes.JsonNode.Parse(await admin.GetStringAsync("/api/direct"))!.AsArray();
        Assert.Equal(2, portals.Count);
        Assert.All(portals, p => Assert.True(p!["inForce"]!.GetValue<bool>()));
        var carolAndBob = Assert.Single(portals, p => p!["parties"]!.AsArray().Any(x => x!["channel"]!.GetValue<string>() == dm));
        Assert.Contains(carolAndBob!["parties"]!.AsArray(), x => x!["network"]!.GetValue<string>() == "matrix" && x["channel"]!.GetValue<string>() == room);
        var portalId = carolAndBob["id"]!.GetValue<string>();
        var asLink = System.Text.Json.Nodes.JsonNode.Parse(await admin.GetStringAsync($"/api/links/{portalId}"))!;
        Assert.Equal("direct", asLink["source"]!.GetValue<string>());
        admin.DefaultRequestHeaders.Authorization = new("Bearer", operatorToken);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await admin.DeleteAsync($"/api/links/{portalId}")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await admin.PostAsync($"/api/links/{portalId}/pause", null)).StatusCode);
        net.Mm.Post(net.Carol.Id, dm, "dm-carol-3");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, room, "dm-carol-3").Count == 1, Long, "the portal still in force after the refused changes");
    }

    [Fact]
    public async Task Nothing_is_sent_into_a_matrix_direct_room_with_a_third_member_even_before_the_bridge_hears_of_them()
    {
        await using var net = await StartAsync();
        await net.StartBridgeAsync();
        var eve = net.Hs.CreateUser("eve");
        var (carolPuppet, bobPuppet) = await GreetAsync(net);
        var (room, dm) = await OpenDirectRoomAsync(net, carolPuppet, bobPuppet);

        // The homeserver's pushes to the bridge lag behind: Eve is in the room before the bridge is told, and Carol
        // writes meanwhile. Her message must not reach a room Eve can read.
        net.Hs.HoldTransactions("bridge", held: true);
        net.Hs.Invite(room, net.Bob!.UserId, eve.UserId);
        net.Hs.Join(room, eve.UserId);
        net.Mm.Post(net.Carol!.Id, dm, "dm-carol-2");
        await ThreeNetworks.WaitUntilAsync(
            () => Scalar(net, "SELECT COUNT(*) FROM outbox WHERE state = 2 AND last_error LIKE '%besides the two people%'") == 1, Long, "Carol's message refused at delivery");
        Assert.Empty(RoomMessages(net, room, "dm-carol-2"));

        net.Hs.HoldTransactions("bridge", held: false);
        net.CarolSays("ops-carol-after");
        net.Mm.Post(net.Carol.Id, dm, "dm-carol-3");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-carol-after").Count == 1, Long, "the shared channel goes on");
        Assert.Empty(RoomMessages(net, room, "dm-carol-2"));
        Assert.Empty(RoomMessages(net, room, "dm-carol-3"));
    }

    [Fact]
    public async Task A_matrix_direct_room_opens_only_as_a_fresh_one_to_one_and_closes_when_a_third_member_comes_in()
    {
        await using var net = await StartAsync();
        await net.StartBridgeAsync();
        var eve = net.Hs.CreateUser("eve");
        var (carolPuppet, bobPuppet) = await GreetAsync(net);

        // A room "marked direct" with a third person in it is no direct chat: the puppet leaves, the core is never asked.
        var crowded = net.Hs.CreateRoom(net.Bob!.UserId, invite: [carolPuppet, eve.UserId], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(crowded, "leave").Contains(carolPuppet), Long, "Carol's puppet left the crowded room");
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct'"));

        // A fresh 1:1 opens; then Eve is let in: nothing crosses from or into that room any more.
        var (room, dm) = await OpenDirectRoomAsync(net, carolPuppet, bobPuppet);

        net.Hs.Invite(room, net.Bob.UserId, eve.UserId);
        net.Hs.Join(room, eve.UserId);
        net.Hs.SendMessage(room, eve.UserId, "dm-eve");
        net.Hs.SendMessage(room, net.Bob.UserId, "dm-bob-2");
        net.Mm.Post(net.Carol!.Id, dm, "dm-carol-2");

        // Anything crossing would be there by the time later messages of the shared channel are.
        net.BobSays("ops-bob-after");
        net.CarolSays("ops-carol-after");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("ops-bob-after").Count == 1 && net.MatrixMessages("ops-carol-after").Count == 1, Long, "later messages");
        Assert.Empty(Posts(net, dm, "dm-eve"));
        Assert.Empty(Posts(net, dm, "dm-bob-2"));
        Assert.Empty(RoomMessages(net, room, "dm-carol-2"));
    }

    [Fact]
    public async Task With_direct_messages_off_on_their_network_an_invite_and_a_chat_never_reach_the_core()
    {
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.NetworkKey("mm", "directMessages", "true"));
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        net.CarolSays("ops-carol");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-carol").Count == 1, Long, "Carol's greeting on Matrix");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-carol"), Long, "Carol's greeting on XMPP");
        var carolPuppet = net.MatrixMessages("ops-carol").Single().Sender;
        var carolJid = Text(net, "SELECT key FROM connector_state WHERE scope = 'xmpp:xmpp:direct-puppets' AND value LIKE '%\"mm\"%'");

        var room = net.Hs.CreateRoom(net.Bob!.UserId, invite: [carolPuppet], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(room, "leave").Contains(carolPuppet), Long, "Carol's puppet rejected Bob's invite");
        await alice.ChatAsync(carolJid, "dm-alice-off");

        // The other way, from the network that has them on: Carol writes in a DM with Bob's puppet, once its socket listens.
        net.BobSays("ops-bob");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("ops-bob").Count == 1, Long, "Bob's greeting on Mattermost");
        var bobPuppet = net.MattermostPosts("ops-bob").Single().UserId;
        await net.Bridge!.WaitForOutputAsync($"Direct-message catch-up of puppet {bobPuppet}", Long);
        using var carolApi = await LoginAsync(net, "carol");
        net.Mm.Post(net.Carol!.Id, await DirectChannelAsync(carolApi, net.Carol.Id, bobPuppet), "dm-carol-off");

        // Anything crossing would be there by the time a later message of the shared channel is.
        net.CarolSays("ops-carol-after");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-carol-after"), Long, "Carol's later message on XMPP");
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct'"));
        Assert.DoesNotContain(net.Mm.Users, u => u.Username.StartsWith("br-", StringComparison.Ordinal) && u.FirstName == "alice");
        Assert.Null(InvitedDirectRoom(net, net.Bob.UserId, room));
    }

    [Fact]
    public async Task A_direct_chat_the_policy_refuses_is_rejected_and_nothing_crosses()
    {
        await using var net = await StartAsync("""
            policy:
              defaults:
                sources:
                  deny:
                    people: ['@eve:localhost']
            """);
        await net.StartBridgeAsync();
        var eve = net.Hs.CreateUser("eve");
        net.CarolSays("ops-carol");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-carol").Count == 1, Long, "Carol's greeting");
        var carolPuppet = net.MatrixMessages("ops-carol").Single().Sender;

        var room = net.Hs.CreateRoom(eve.UserId, invite: [carolPuppet], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(room, "leave").Contains(carolPuppet), Long, "Carol's puppet rejected Eve's invite");
        Assert.DoesNotContain(carolPuppet, net.Hs.GetMembers(room));
        net.Hs.SendMessage(room, eve.UserId, "eve-secret");

        // Anything crossing would be there by the time a later message of the shared channel is.
        net.BobSays("ops-bob-after");
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("ops-bob-after").Count == 1, Long, "Bob's later message");
        Assert.DoesNotContain(net.Mm.Users, u => u.Username.Contains("eve", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(net.Mm.GetPosts(net.MmChannel), p => p.Message.Contains("eve-secret", StringComparison.Ordinal));
        Assert.Equal(1L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-refused' AND rule_id = 'source-deny'"));
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-opened'"));
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM outbox WHERE link_id LIKE 'dm-%'"));
    }

    [Fact]
    public async Task An_xmpp_person_chats_with_a_mattermost_puppet_jid_and_a_mattermost_person_reaches_them_back()
    {
        await using var net = await StartAsync();
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        var frank = net.Mm.CreateUser("frank");
        net.Mm.AddToTeam(net.Seed!.Team.Id, frank.Id);
        net.CarolSays("ops-carol");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-carol"), Long, "Carol's greeting on XMPP");

        // The JID of Carol's puppet, as the bridge keeps it (Alice's client would see it in a roster or a vCard).
        var carolJid = Text(net, "SELECT key FROM connector_state WHERE scope = 'xmpp:xmpp:direct-puppets' AND value LIKE '%\"mm\"%'");
        await alice.ChatAsync(carolJid, "dm-alice-1");

        Sandbox.Mattermost.SandboxUser? alicePuppet = null;
        await ThreeNetworks.WaitUntilAsync(() => (alicePuppet = net.Mm.Users.FirstOrDefault(u => u.Username.StartsWith("br-", StringComparison.Ordinal) && u.FirstName == "alice")) is not null,
            Long, "a puppet of Alice on Mattermost");
        using var carolApi = await LoginAsync(net, "carol");
        var dm = await DirectChannelAsync(carolApi, net.Carol!.Id, alicePuppet!.Id);
        await ThreeNetworks.WaitUntilAsync(() => Posts(net, dm, "dm-alice-1").Count == 1, Long, "Alice's chat message in Carol's DM");
        Assert.Equal(alicePuppet.Id, Posts(net, dm, "dm-alice-1").Single().UserId);

        net.Mm.Post(net.Carol.Id, dm, "dm-carol-to-alice");
        var got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.Body == "dm-carol-to-alice"), Long, "Carol's answer as a chat message");
        Assert.Equal(carolJid, got.Single(m => m.Body == "dm-carol-to-alice").From.Split('/')[0], ignoreCase: true);

        // Frank, on Mattermost, opens a DM with Alice's puppet: Alice gets a chat message from Frank's puppet JID.
        using var frankApi = await LoginAsync(net, "frank");
        var frankDm = await DirectChannelAsync(frankApi, frank.Id, alicePuppet.Id);
        net.Mm.Post(frank.Id, frankDm, "dm-frank-to-alice");
        got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.Body == "dm-frank-to-alice"), Long, "Frank's first message as a chat message");
        var frankJid = got.Single(m => m.Body == "dm-frank-to-alice").From.Split('/')[0];
        Assert.NotEqual(carolJid, frankJid, StringComparer.OrdinalIgnoreCase);
        Assert.EndsWith("@" + net.Xmpp.ComponentDomain, frankJid, StringComparison.OrdinalIgnoreCase);
        await alice.ChatAsync(frankJid, "dm-alice-to-frank");
        await ThreeNetworks.WaitUntilAsync(() => Posts(net, frankDm, "dm-alice-to-frank").Count == 1, Long, "Alice's answer in Frank's DM");
        Assert.DoesNotContain(Posts(net, dm, "dm-"), p => p.Message.Contains("frank", StringComparison.Ordinal));
        Assert.Equal(2L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-opened' AND (source_network = 'xmpp' OR destination = 'xmpp')"));
    }

    [Fact]
    public async Task Matrix_and_xmpp_people_chat_directly_both_ways_and_a_restart_keeps_the_portals()
    {
        await using var net = await StartAsync();
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        var dan = net.Hs.CreateUser("dan");
        net.Hs.SetDisplayName(dan.UserId, "Dan");

        // Bob speaks once in the shared room: the JID of his puppet is known (Alice's client would see it in a vCard).
        net.BobSays("ops-bob");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-bob"), Long, "Bob's greeting on XMPP");
        var bobJid = PuppetJidOf(net, net.Bob!.UserId);

        // XMPP → Matrix: Alice writes to Bob's puppet JID; the puppet of Alice invites Bob into a direct room.
        await alice.ChatAsync(bobJid, "dm-alice-1");
        string? aliceRoom = null;
        await ThreeNetworks.WaitUntilAsync(() => (aliceRoom = InvitedDirectRoom(net, net.Bob.UserId)) is not null, Long, "Bob invited into a direct room by Alice's puppet");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, aliceRoom!, "dm-alice-1").Count == 1, Long, "Alice's first message in the new room");
        var alicePuppet = RoomMessages(net, aliceRoom!, "dm-alice-1").Single().Sender;
        Assert.StartsWith("@_bridge_xmpp_", alicePuppet, StringComparison.Ordinal);
        Assert.NotEqual(100, PowerOf(net, aliceRoom!, net.Bob.UserId)); // private_chat: the invitee cannot invite others in
        net.Hs.Join(aliceRoom!, net.Bob.UserId);
        net.Hs.SendMessage(aliceRoom!, net.Bob.UserId, "dm-bob-to-alice");
        var got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.Body == "dm-bob-to-alice"), Long, "Bob's answer as a chat message");
        Assert.Equal(bobJid, got.Single(m => m.Body == "dm-bob-to-alice").From.Split('/')[0], ignoreCase: true);

        // Matrix → XMPP: Dan invites Alice's puppet into a fresh direct room, as his client makes a DM, and writes.
        var danRoom = net.Hs.CreateRoom(dan.UserId, invite: [alicePuppet], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(danRoom).Contains(alicePuppet), Long, "Alice's puppet joined Dan's direct room");
        net.Hs.SendMessage(danRoom, dan.UserId, "dm-dan-1");
        got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.Body == "dm-dan-1"), Long, "Dan's first message as a chat message");
        var danJid = got.Single(m => m.Body == "dm-dan-1").From.Split('/')[0];
        Assert.NotEqual(bobJid, danJid, StringComparer.OrdinalIgnoreCase);
        Assert.EndsWith("@" + net.Xmpp.ComponentDomain, danJid, StringComparison.OrdinalIgnoreCase);
        await alice.ChatAsync(danJid, "dm-alice-to-dan");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, danRoom, "dm-alice-to-dan").Count == 1, Long, "Alice's answer in Dan's direct room");
        Assert.Equal(alicePuppet, RoomMessages(net, danRoom, "dm-alice-to-dan").Single().Sender);

        // A restart keeps both portals: the same rooms and JIDs carry on, and nothing new is made. Alice writes once the
        // bridge is back on XMPP (a chat message to a puppet while the component is down bounces back to her client).
        await net.StartBridgeAsync();
        net.BobSays("ops-bob-after-restart");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-bob-after-restart"), Long, "Bob's message after the restart on XMPP");
        await alice.ChatAsync(bobJid, "dm-alice-2");
        net.Hs.SendMessage(danRoom, dan.UserId, "dm-dan-2");
        net.Hs.SendMessage(aliceRoom!, net.Bob.UserId, "dm-bob-2");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, aliceRoom!, "dm-alice-2").Count == 1, Long, "Alice's message after the restart in the same room");
        got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.Body == "dm-dan-2") && ms.Any(m => m.Body == "dm-bob-2"), Long, "Dan's and Bob's messages after the restart");
        Assert.Equal(danJid, got.Single(m => m.Body == "dm-dan-2").From.Split('/')[0], ignoreCase: true);
        Assert.Equal(bobJid, got.Single(m => m.Body == "dm-bob-2").From.Split('/')[0], ignoreCase: true);
        await alice.ChatAsync(danJid, "dm-alice-3");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, danRoom, "dm-alice-3").Count == 1, Long, "Alice's message after the restart in Dan's room");
        Assert.Null(InvitedDirectRoom(net, net.Bob.UserId, aliceRoom!));
        Assert.Null(InvitedDirectRoom(net, dan.UserId, danRoom));

        // Nothing of the chats in the shared room; each portal opened once, on record; every message has its decision.
        Assert.Empty(net.MatrixMessages("dm-"));
        Assert.DoesNotContain(alice.Messages, m => m.Body.StartsWith("dm-", StringComparison.Ordinal));
        Assert.Equal(2L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-opened'"));
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision <> 'direct-opened'"));
        Assert.Equal(8L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'decision' AND link_id LIKE 'dm-%'"));
    }

    [Fact]
    public async Task Corrections_and_retractions_cross_a_matrix_xmpp_direct_chat_both_ways()
    {
        await using var net = await StartAsync();
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        net.BobSays("ops-bob");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-bob"), Long, "Bob's greeting on XMPP");
        var bobJid = PuppetJidOf(net, net.Bob!.UserId);
        var aliceFirst = await alice.ChatAsync(bobJid, "dm-alice-1");
        string? room = null;
        await ThreeNetworks.WaitUntilAsync(() => (room = InvitedDirectRoom(net, net.Bob.UserId)) is not null, Long, "Bob invited into a direct room by Alice's puppet");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, room!, "dm-alice-1").Count == 1, Long, "Alice's first message in the new room");
        var onMatrix = EventId(net, room!, "dm-alice-1");
        net.Hs.Join(room!, net.Bob.UserId);

        // XMPP → Matrix: an XEP-0308 correction is an m.replace edit of the copy, an XEP-0424 retraction its redaction.
        await alice.CorrectChatAsync(bobJid, aliceFirst, "dm-alice-1-fixed");
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetTimeline(room!).Any(e => (e["content"] as JsonObject)?["m.new_content"]?["body"]?.GetValue<string>() == "dm-alice-1-fixed"
            && (e["content"] as JsonObject)?["m.relates_to"]?["event_id"]?.GetValue<string>() == onMatrix), Long, "Alice's correction as an edit on Matrix");
        await alice.RetractChatAsync(bobJid, aliceFirst);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetTimeline(room!).Any(e => (string?)e["type"] == "m.room.redaction" && (string?)e["redacts"] == onMatrix),
            Long, "Alice's retraction as a redaction on Matrix");

        // Matrix → XMPP: Bob's edit is a correction of the chat message Alice got, his redaction its retraction.
        var bobFirst = net.Hs.SendMessage(room!, net.Bob.UserId, "dm-bob-1");
        var got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.Body == "dm-bob-1"), Long, "Bob's message as a chat message");
        var onXmpp = got.Single(m => m.Body == "dm-bob-1").Id;
        Assert.NotNull(onXmpp);
        net.Hs.SendEvent(room!, net.Bob.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "* dm-bob-1-fixed",
            ["m.new_content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = "dm-bob-1-fixed" },
            ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.replace", ["event_id"] = bobFirst },
        });
        got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.Body == "dm-bob-1-fixed"), Long, "Bob's edit as a correction");
        Assert.Equal(onXmpp, got.Single(m => m.Body == "dm-bob-1-fixed").ReplaceId);
        net.Hs.Redact(room!, net.Bob.UserId, bobFirst);
        got = await alice.WaitForPrivateAsync(ms => ms.Any(m => m.RetractId is not null), Long, "Bob's redaction as a retraction");
        Assert.Equal(onXmpp, got.Single(m => m.RetractId is not null).RetractId);
        Assert.Equal(bobJid, got.Single(m => m.RetractId is not null).From.Split('/')[0], ignoreCase: true);
    }

    [Fact]
    public async Task A_matrix_invite_of_the_puppet_of_an_xmpp_person_known_only_in_a_semi_anonymous_room_opens_nothing()
    {
        await using var net = await StartAsync();
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        await alice.SayAsync("ops-alice");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-alice").Count == 1, Long, "Alice's greeting on Matrix");
        var roomPuppet = net.MatrixMessages("ops-alice").Single().Sender;

        // The room shows Alice's occupant id, not her JID: there is nobody on XMPP to open the chat with.
        var room = net.Hs.CreateRoom(net.Bob!.UserId, invite: [roomPuppet], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(room, "leave").Contains(roomPuppet), Long, "Alice's room puppet left Bob's direct room");
        net.Hs.SendMessage(room, net.Bob.UserId, "dm-bob-nowhere");
        net.BobSays("ops-bob-after");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-bob-after"), Long, "Bob's later message on XMPP");
        Assert.Empty(alice.PrivateMessages);
        Assert.Equal(1L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-failed'"));
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision <> 'direct-failed'"));
    }

    [Fact]
    public async Task A_barrier_between_matrix_and_xmpp_refuses_their_direct_chats_and_blocks_an_open_one()
    {
        await using var net = await StartAsync();
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        var dan = net.Hs.CreateUser("dan");
        net.Hs.Invite(net.MatrixRoom, net.Bob!.UserId, dan.UserId);
        net.Hs.Join(net.MatrixRoom, dan.UserId);

        // Before the barrier: Bob and Dan have puppet JIDs, and Alice has a chat with Bob (so a puppet of hers on Matrix).
        net.BobSays("ops-bob");
        net.Hs.SendMessage(net.MatrixRoom, dan.UserId, "ops-dan");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-bob") && ms.Any(m => m.Body == "ops-dan"), Long, "Bob's and Dan's greetings on XMPP");
        var bobJid = PuppetJidOf(net, net.Bob.UserId);
        var danJid = PuppetJidOf(net, dan.UserId);
        await alice.ChatAsync(bobJid, "dm-alice-1");
        string? aliceRoom = null;
        await ThreeNetworks.WaitUntilAsync(() => (aliceRoom = InvitedDirectRoom(net, net.Bob.UserId)) is not null, Long, "Bob invited into a direct room by Alice's puppet");
        await ThreeNetworks.WaitUntilAsync(() => RoomMessages(net, aliceRoom!, "dm-alice-1").Count == 1, Long, "Alice's first message");
        var alicePuppet = RoomMessages(net, aliceRoom!, "dm-alice-1").Single().Sender;
        net.Hs.Join(aliceRoom!, net.Bob.UserId);

        // The operator puts a barrier between the two organisations and restarts the bridge.
        await File.AppendAllTextAsync(net.ConfigPath, "\npolicy:\n  barriers:\n    - [org-xmpp, org-matrix]\n");
        await net.StartBridgeAsync();

        // The open chat carries nothing either way; a new one is refused from both sides.
        await alice.ChatAsync(bobJid, "dm-alice-barred");
        net.Hs.SendMessage(aliceRoom!, net.Bob.UserId, "dm-bob-barred");
        var danRoom = net.Hs.CreateRoom(dan.UserId, invite: [alicePuppet], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(danRoom, "leave").Contains(alicePuppet), Long, "Alice's puppet rejected Dan's invite");
        net.Hs.SendMessage(danRoom, dan.UserId, "dm-dan-barred");
        await alice.ChatAsync(danJid, "dm-alice-to-dan");

        // Anything crossing would be there by the time later messages of the shared channel are.
        net.CarolSays("ops-carol-after");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-carol-after").Count == 1, Long, "Carol's later message on Matrix");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-carol-after"), Long, "Carol's later message on XMPP");
        await ThreeNetworks.WaitUntilAsync(() => Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-refused'") >= 2, Long, "both refusals on record");
        Assert.Empty(RoomMessages(net, aliceRoom!, "dm-alice-barred"));
        Assert.DoesNotContain(alice.PrivateMessages, m => m.Body.Contains("barred", StringComparison.Ordinal));
        Assert.Null(InvitedDirectRoom(net, dan.UserId, danRoom));
        Assert.Equal(2L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-refused' AND rule_id = 'barrier'"));
        Assert.Equal(1L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct' AND decision = 'direct-opened'"));
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM outbox WHERE link_id LIKE 'dm-%' AND state = 0"));
    }

    [Theory]
    [InlineData("matrix")]
    [InlineData("xmpp")]
    public async Task With_direct_messages_off_on_the_other_network_a_matrix_invite_and_an_xmpp_chat_never_reach_the_core(string on)
    {
        await using var net = await ThreeNetworks.StartAsync(configure: b => b.NetworkKey(on, "directMessages", "true"));
        await net.StartBridgeAsync();
        var alice = await net.AliceAsync();
        net.BobSays("ops-bob");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-bob"), Long, "Bob's greeting on XMPP");
        await alice.SayAsync("ops-alice");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-alice").Count == 1, Long, "Alice's greeting on Matrix");
        var alicePuppet = net.MatrixMessages("ops-alice").Single().Sender;
        var bobJid = PuppetJidOf(net, net.Bob!.UserId);

        var room = net.Hs.CreateRoom(net.Bob.UserId, invite: [alicePuppet], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(room, "leave").Contains(alicePuppet), Long, "Alice's puppet rejected Bob's invite");
        await alice.ChatAsync(bobJid, "dm-alice-off");

        // Anything crossing would be there by the time a later message of the shared channel is.
        net.CarolSays("ops-carol-after");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-carol-after").Count == 1, Long, "Carol's later message on Matrix");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "ops-carol-after"), Long, "Carol's later message on XMPP");
        Assert.Null(InvitedDirectRoom(net, net.Bob.UserId, room));
        Assert.Equal(0L, Scalar(net, "SELECT COUNT(*) FROM audit WHERE kind = 'direct'"));
    }

    private static string EventId(ThreeNetworks net, string room, string body) =>
        (string)net.Hs.GetMessages(room).Single(e => (string?)(e["content"] as JsonObject)?["body"] == body)["event_id"]!;

    /// <summary>The JID of the puppet of a Matrix person, as the bridge keeps it once the puppet spoke (a client would see it in a vCard).</summary>
    private static string PuppetJidOf(ThreeNetworks net, string matrixUserId) =>
        Text(net, $"SELECT key FROM connector_state WHERE scope = 'xmpp:xmpp:direct-puppets' AND value LIKE '%\"{matrixUserId}\"%'");

    private static string Text(ThreeNetworks net, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={net.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return (string)cmd.ExecuteScalar()!;
    }

    /// <summary>Carol and Bob greet each other in the shared channel: their puppets (Carol's on Matrix, Bob's on Mattermost).</summary>
    private static async Task<(string CarolPuppet, string BobPuppet)> GreetAsync(ThreeNetworks net)
    {
        net.CarolSays("ops-carol");
        net.BobSays("ops-bob");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("ops-carol").Count == 1 && net.MattermostPosts("ops-bob").Count == 1, Long, "both greetings");
        return (net.MatrixMessages("ops-carol").Single().Sender, net.MattermostPosts("ops-bob").Single().UserId);
    }

    /// <summary>Bob opens a fresh 1:1 with Carol's puppet on Matrix and writes in it: the room and Carol's Mattermost DM, once it crossed.</summary>
    private static async Task<(string Room, string Dm)> OpenDirectRoomAsync(ThreeNetworks net, string carolPuppet, string bobPuppet)
    {
        var room = net.Hs.CreateRoom(net.Bob!.UserId, invite: [carolPuppet], isDirect: true);
        await ThreeNetworks.WaitUntilAsync(() => net.Hs.GetMembers(room).Contains(carolPuppet), Long, "Carol's puppet joined Bob's direct room");
        net.Hs.SendMessage(room, net.Bob.UserId, "dm-bob-1");
        using var carolApi = await LoginAsync(net, "carol");
        var dm = await DirectChannelAsync(carolApi, net.Carol!.Id, bobPuppet);
        await ThreeNetworks.WaitUntilAsync(() => Posts(net, dm, "dm-bob-1").Count == 1, Long, "Bob's direct message in Carol's DM");
        return (room, dm);
    }

    private static async Task<HttpClient> LoginAsync(ThreeNetworks net, string user)
    {
        var http = new HttpClient { BaseAddress = net.Mm.BaseUrl };
        using var login = await http.PostAsJsonAsync("api/v4/users/login", new { login_id = user, password = "Passw0rd!" });
        login.EnsureSuccessStatusCode();
        http.DefaultRequestHeaders.Authorization = new("Bearer", login.Headers.GetValues("Token").Single());
        return http;
    }

    /// <summary>The DM channel of two users as a client gets it (<c>POST /channels/direct</c>, made once, returned again).</summary>
    private static async Task<string> DirectChannelAsync(HttpClient api, string me, string other)
    {
        using var response = await api.PostAsJsonAsync("api/v4/channels/direct", new[] { me, other });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    private static List<Sandbox.Mattermost.SandboxPost> Posts(ThreeNetworks net, string channel, string prefix) =>
        [.. net.Mm.GetPosts(channel).Where(p => !p.IsDeleted && !p.IsSystem && p.Message.StartsWith(prefix, StringComparison.Ordinal))];

    private static List<(string Sender, string Body)> RoomMessages(ThreeNetworks net, string room, string prefix) =>
        [.. net.Hs.GetMessages(room)
            .Select(e => (Sender: e["sender"]!.GetValue<string>(), Body: (e["content"] as JsonObject)?["body"]?.GetValue<string>() ?? ""))
            .Where(m => m.Body.StartsWith(prefix, StringComparison.Ordinal))];

    /// <summary>A room (other than <paramref name="known"/>) into which <paramref name="userId"/> is invited with <c>is_direct</c>.</summary>
    private static string? InvitedDirectRoom(ThreeNetworks net, string userId, params string[] known) =>
        net.Hs.RoomsWithMember(userId, "invite").Concat(net.Hs.RoomsWithMember(userId, "join"))
            .Where(r => !known.Contains(r) && r != net.MatrixRoom)
            .FirstOrDefault(r => net.Hs.GetTimeline(r).Any(e => e["type"]?.GetValue<string>() == "m.room.member"
                && e["state_key"]?.GetValue<string>() == userId && (e["content"] as JsonObject)?["is_direct"]?.GetValue<bool>() == true));

    private static int PowerOf(ThreeNetworks net, string room, string userId) =>
        net.Hs.GetTimeline(room).Last(e => e["type"]?.GetValue<string>() == "m.room.power_levels")["content"]?["users"]?[userId]?.GetValue<int>() ?? 0;

    private static long Scalar(ThreeNetworks net, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={net.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
