using System.Text.Json.Nodes;
using Sandbox.Matrix.Appservices;

namespace Sandbox.Matrix.Tests;

public sealed class AppserviceTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Appservice_registers_namespaced_users_and_asserts_identity_only_inside_its_namespace()
    {
        await using var h = await SandboxHarness.StartAsync();
        var noToken = await h.CallAsync(HttpMethod.Post, V3 + "/register", json: """{"type":"m.login.application_service","username":"_bridge_x_a"}""");
        Assert.Equal((401, "M_MISSING_TOKEN"), (noToken.Status, noToken.Body.Str("errcode")));
        var badToken = await h.CallAsync(HttpMethod.Post, V3 + "/register", "wrong", """{"type":"m.login.application_service","username":"_bridge_x_a"}""");
        Assert.Equal((401, "M_UNKNOWN_TOKEN"), (badToken.Status, badToken.Body.Str("errcode")));
        var outside = await h.CallAsync(HttpMethod.Post, V3 + "/register", SandboxHarness.AsToken, """{"type":"m.login.application_service","username":"plain"}""");
        Assert.Equal((400, "M_EXCLUSIVE"), (outside.Status, outside.Body.Str("errcode")));

        var ok = await h.CallAsync(HttpMethod.Post, V3 + "/register", SandboxHarness.AsToken, """{"type":"m.login.application_service","username":"_bridge_x_a"}""");
        Assert.Equal(200, ok.Status);
        Assert.Equal("@_bridge_x_a:localhost", ok.Body.Str("user_id"));
        var again = await h.CallAsync(HttpMethod.Post, V3 + "/register", SandboxHarness.AsToken, """{"type":"m.login.application_service","username":"_bridge_x_a"}""");
        Assert.Equal((400, "M_USER_IN_USE"), (again.Status, again.Body.Str("errcode")));

        var asPuppet = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami?user_id=@_bridge_x_a:localhost", SandboxHarness.AsToken);
        Assert.Equal("@_bridge_x_a:localhost", asPuppet.Body.Str("user_id"));
        var asSender = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami", SandboxHarness.AsToken);
        Assert.Equal("@_bridge_bot:localhost", asSender.Body.Str("user_id"));

        h.Sandbox.CreateUser("alice");
        var foreign = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami?user_id=@alice:localhost", SandboxHarness.AsToken);
        Assert.Equal((403, "M_FORBIDDEN"), (foreign.Status, foreign.Body.Str("errcode")));
        var unregistered = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami?user_id=@_bridge_x_nobody:localhost", SandboxHarness.AsToken);
        Assert.Equal((403, "M_FORBIDDEN"), (unregistered.Status, unregistered.Body.Str("errcode")));

        var exclusiveAlias = h.Sandbox.CreateUser("bob");
        var aliasClaim = await h.CallAsync(HttpMethod.Post, V3 + "/createRoom", exclusiveAlias.AccessToken, """{"room_alias_name":"_bridge_room"}""");
        Assert.Equal((400, "M_EXCLUSIVE"), (aliasClaim.Status, aliasClaim.Body.Str("errcode")));
    }

    [Fact]
    public async Task Ts_query_parameter_sets_origin_server_ts_for_appservices()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        await h.CallAsync(HttpMethod.Post, V3 + "/register", SandboxHarness.AsToken, """{"type":"m.login.application_service","username":"_bridge_x_b"}""");
        await h.CallAsync(HttpMethod.Post, $"{V3}/rooms/{room}/join?user_id=@_bridge_x_b:localhost", SandboxHarness.AsToken, "{}");
        var sent = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/t1?user_id=@_bridge_x_b:localhost&ts=1600000000000",
            SandboxHarness.AsToken, """{"msgtype":"m.text","body":"old"}""");
        Assert.Equal(200, sent.Status);
        var ev = h.Sandbox.GetMessages(room).Single();
        Assert.Equal(1600000000000, ev["origin_server_ts"]!.GetValue<long>());
        Assert.Equal("@_bridge_x_b:localhost", ev["sender"]!.GetValue<string>());
    }

    [Fact]
    public async Task Transactions_are_retried_with_same_id_and_body_until_acknowledged()
    {
        await using var appservice = new FakeAppservice();
        var failures = 3;
        appservice.Respond = r => r.Path.Contains("/transactions/", StringComparison.Ordinal) && Interlocked.Decrement(ref failures) >= 0 ? 500 : 200;
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url);
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Invite(room, alice.UserId, "@_bridge_bot:localhost");

        await WaitUntilAsync(() => h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Succeeded));
        var attempts = h.Sandbox.GetTransactionAttempts("bridge");
        var first = attempts[0];
        Assert.True(attempts.Count >= 4);
        Assert.All(attempts.Take(4), a => Assert.Equal(first.TxnId, a.TxnId));
        Assert.All(attempts.Take(4), a => Assert.Equal(first.Body, a.Body));
        Assert.Equal(new int?[] { 500, 500, 500, 200 }, attempts.Take(4).Select(a => a.Status));
        var recorded = appservice.Requests.First();
        Assert.Equal("PUT", recorded.Method);
        Assert.Equal("/_matrix/app/v1/transactions/" + first.TxnId, recorded.Path);
        Assert.Equal("Bearer " + SandboxHarness.HsToken, recorded.Authorization);
        var events = JsonNode.Parse(first.Body)!["events"]!.AsArray();
        Assert.Contains(events, e => e!["type"]!.GetValue<string>() == "m.room.member" && e["state_key"]!.GetValue<string>() == "@_bridge_bot:localhost");

        // Later events go out in a new transaction with a larger id (once the bot joined, as a bridge does: only a
        // joined member makes the room's events the appservice's).
        h.Sandbox.Join(room, "@_bridge_bot:localhost");
        h.Sandbox.SendMessage(room, alice.UserId, "after");
        await WaitUntilAsync(() => h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Succeeded && a.Body.Contains("after", StringComparison.Ordinal)));
        var second = h.Sandbox.GetTransactionAttempts("bridge").First(a => a.Succeeded && a.Body.Contains("after", StringComparison.Ordinal));
        Assert.True(long.Parse(second.TxnId, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(first.TxnId, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("after", second.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_one_transaction_is_in_flight_and_events_outside_interest_are_not_pushed()
    {
        await using var appservice = new FakeAppservice();
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url);
        var alice = h.Sandbox.CreateUser("alice");
        var unrelated = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.SendMessage(unrelated, alice.UserId, "not for the bridge");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Invite(room, alice.UserId, "@_bridge_bot:localhost");
        h.Sandbox.Join(room, "@_bridge_bot:localhost");
        for (var i = 0; i < 5; i++)
        {
            h.Sandbox.SendMessage(room, alice.UserId, "m" + i);
        }

        await WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0 && h.Sandbox.GetTransactionAttempts("bridge").Count > 0);
        var bodies = string.Concat(h.Sandbox.GetTransactionAttempts("bridge").Select(a => a.Body));
        Assert.DoesNotContain("not for the bridge", bodies, StringComparison.Ordinal);
        for (var i = 0; i < 5; i++)
        {
            Assert.Contains("\"m" + i + "\"", bodies, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Appservice_gets_invites_of_its_users_but_a_room_s_events_and_typing_only_once_one_of_them_has_joined()
    {
        await using var appservice = new FakeAppservice();
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url, registration: r => r.ReceiveEphemeral = true);
        var alice = h.Sandbox.CreateUser("alice");
        var registered = await h.CallAsync(HttpMethod.Post, V3 + "/register", SandboxHarness.AsToken, """{"type":"m.login.application_service","username":"_bridge_p"}""");
        Assert.Equal(200, registered.Status);

        // A DM as clients make it: the puppet is invited (is_direct), never joined; the invite is the appservice's by its state_key.
        var dm = await h.CallAsync(HttpMethod.Post, V3 + "/createRoom", alice.AccessToken, """{"is_direct":true,"preset":"private_chat","invite":["@_bridge_p:localhost"]}""");
        Assert.Equal(200, dm.Status);
        var dmRoom = dm.Body.Str("room_id")!;
        h.Sandbox.SendMessage(dmRoom, alice.UserId, "dm before the puppet joined");

        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Invite(room, alice.UserId, "@_bridge_bot:localhost");
        h.Sandbox.SendMessage(room, alice.UserId, "while only invited");
        h.Sandbox.SetTyping(room, alice.UserId, true);
        h.Sandbox.SetTyping(room, alice.UserId, false);
        h.Sandbox.Join(room, "@_bridge_bot:localhost");
        h.Sandbox.SendMessage(room, alice.UserId, "after the join");
        h.Sandbox.SetTyping(room, alice.UserId, true);

        await WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0
            && h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Succeeded && a.Body.Contains("after the join", StringComparison.Ordinal))
            && h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Succeeded && a.Body.Contains("m.typing", StringComparison.Ordinal)));
        var bodies = h.Sandbox.GetTransactionAttempts("bridge").Where(a => a.Succeeded).Select(a => JsonNode.Parse(a.Body)!.AsObject()).ToList();
        var events = bodies.SelectMany(b => b["events"]!.AsArray()).Select(e => e!.AsObject()).ToList();
        bool Member(string roomId, string userId, string membership) => events.Any(e => e["type"]!.GetValue<string>() == "m.room.member"
            && e["room_id"]!.GetValue<string>() == roomId && e["state_key"]!.GetValue<string>() == userId
            && e["content"]!["membership"]!.GetValue<string>() == membership);

        Assert.True(Member(dmRoom, "@_bridge_p:localhost", "invite"));
        Assert.True(Member(room, "@_bridge_bot:localhost", "invite"));
        Assert.True(Member(room, "@_bridge_bot:localhost", "join"));
        string? Body(JsonObject e) => e["content"]?["body"]?.GetValue<string>();
        Assert.DoesNotContain(events, e => Body(e) is "dm before the puppet joined" or "while only invited");
        Assert.Contains(events, e => Body(e) == "after the join");
        var typing = bodies.SelectMany(b => b["ephemeral"]?.AsArray() ?? [])
            .Select(e => string.Join(",", e!["content"]!["user_ids"]!.AsArray().Select(u => u!.GetValue<string>()))).ToList();
        Assert.Equal([alice.UserId], typing); // the typing while the bot was only invited never went out
    }

    [Fact]
    public async Task Legacy_switch_uses_unprefixed_path_with_access_token_query()
    {
        await using var appservice = new FakeAppservice();
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url, o => o.UseLegacyAppservicePaths = true);
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Invite(room, alice.UserId, "@_bridge_bot:localhost");
        await WaitUntilAsync(() => !appservice.Requests.IsEmpty);
        var request = appservice.Requests.First();
        Assert.StartsWith("/transactions/", request.Path, StringComparison.Ordinal);
        Assert.Equal("?access_token=" + SandboxHarness.HsToken, request.Query);
        Assert.Equal(string.Empty, request.Authorization);

        var ping = await h.CallAsync(HttpMethod.Post, "/_matrix/client/v1/appservice/bridge/ping", SandboxHarness.AsToken, "{}");
        Assert.Equal((404, "M_UNRECOGNIZED"), (ping.Status, ping.Body.Str("errcode")));
    }

    [Fact]
    public async Task Ping_reaches_appservice_and_reports_bad_status()
    {
        await using var appservice = new FakeAppservice();
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url);
        var ok = await h.CallAsync(HttpMethod.Post, "/_matrix/client/v1/appservice/bridge/ping", SandboxHarness.AsToken, """{"transaction_id":"meow"}""");
        Assert.Equal(200, ok.Status);
        Assert.NotNull(ok.Body["duration_ms"]);
        var pinged = appservice.Requests.Single(r => r.Path == "/_matrix/app/v1/ping");
        Assert.Contains("meow", pinged.Body, StringComparison.Ordinal);

        appservice.Respond = _ => 403;
        var bad = await h.CallAsync(HttpMethod.Post, "/_matrix/client/v1/appservice/bridge/ping", SandboxHarness.AsToken, "{}");
        Assert.Equal((502, "M_BAD_STATUS"), (bad.Status, bad.Body.Str("errcode")));
        Assert.Equal(403, bad.Body["status"]!.GetValue<int>());

        var other = await h.CallAsync(HttpMethod.Post, "/_matrix/client/v1/appservice/other/ping", SandboxHarness.AsToken, "{}");
        Assert.Equal((403, "M_FORBIDDEN"), (other.Status, other.Body.Str("errcode")));
    }

    [Fact]
    public async Task Restart_keeps_state_and_port_and_retries_pending_transaction_with_same_id()
    {
        await using var appservice = new FakeAppservice();
        var acknowledge = false;
        appservice.Respond = _ => Volatile.Read(ref acknowledge) ? 200 : 500;
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url);
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Invite(room, alice.UserId, "@_bridge_bot:localhost");
        await WaitUntilAsync(() => h.Sandbox.GetTransactionAttempts("bridge").Count > 0);
        var port = h.Sandbox.Port;

        await h.Sandbox.StopAsync();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => h.Http.GetAsync(new Uri("/_matrix/client/versions", UriKind.Relative)));
        Volatile.Write(ref acknowledge, true);
        await h.Sandbox.StartAsync();
        Assert.Equal(port, h.Sandbox.Port);

        var whoami = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami", alice.AccessToken);
        Assert.Equal(200, whoami.Status);
        await WaitUntilAsync(() => h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Succeeded));
        var attempts = h.Sandbox.GetTransactionAttempts("bridge");
        Assert.All(attempts, a => Assert.Equal(attempts[0].TxnId, a.TxnId));
        Assert.Contains(alice.UserId, h.Sandbox.GetMembers(room));
        Assert.Contains("@_bridge_bot:localhost", h.Sandbox.GetMembers(room, "invite"));
    }

    [Fact]
    public void Registration_yaml_is_parsed_like_homeservers_do()
    {
        var reg = RegistrationLoader.Parse("""
            id: "bridge"
            url: "http://127.0.0.1:9000"
            as_token: "a"
            hs_token: "h"
            sender_localpart: "_bridge_bot"
            rate_limited: false
            namespaces:
              users:
                - exclusive: true
                  regex: "@_bridge_.*:example\\.org"
              aliases:
                - exclusive: false
                  regex: "#_bridge_.*"
              rooms: []
            """);
        Assert.Equal("http://127.0.0.1:9000", reg.Url);
        Assert.True(reg.Users[0].Exclusive);
        Assert.True(reg.Users[0].IsMatch("@_bridge_xmpp_a:example.org"));
        Assert.False(reg.Users[0].IsMatch("@_bridge_xmpp_a:exampleXorg"));
        Assert.False(reg.Aliases[0].Exclusive);
        Assert.Empty(reg.Rooms);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }
}
