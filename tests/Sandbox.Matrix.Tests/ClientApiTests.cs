using System.Text.Json.Nodes;

namespace Sandbox.Matrix.Tests;

public sealed class ClientApiTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Errors_have_spec_codes_statuses_and_json_content_type()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");

        var missing = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami");
        Assert.Equal(401, missing.Status);
        Assert.Equal("M_MISSING_TOKEN", missing.Body.Str("errcode"));
        Assert.Equal("application/json", missing.Response.Content.Headers.ContentType?.MediaType);

        var unknown = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami", "nope");
        Assert.Equal(401, unknown.Status);
        Assert.Equal("M_UNKNOWN_TOKEN", unknown.Body.Str("errcode"));

        var route = await h.CallAsync(HttpMethod.Get, V3 + "/no/such/endpoint", alice.AccessToken);
        Assert.Equal(404, route.Status);
        Assert.Equal("M_UNRECOGNIZED", route.Body.Str("errcode"));

        var method = await h.CallAsync(HttpMethod.Delete, V3 + "/createRoom", alice.AccessToken);
        Assert.Equal(405, method.Status);
        Assert.Equal("M_UNRECOGNIZED", method.Body.Str("errcode"));

        var notJson = await h.CallAsync(HttpMethod.Post, V3 + "/createRoom", alice.AccessToken, "{not json");
        Assert.Equal(400, notJson.Status);
        Assert.Equal("M_NOT_JSON", notJson.Body.Str("errcode"));

        var badJson = await h.CallAsync(HttpMethod.Post, V3 + "/createRoom", alice.AccessToken, "[1,2]");
        Assert.Equal(400, badJson.Status);
        Assert.Equal("M_BAD_JSON", badJson.Body.Str("errcode"));

        var noRoom = await h.CallAsync(HttpMethod.Get, V3 + "/directory/room/%23nothing:localhost");
        Assert.Equal(404, noRoom.Status);
        Assert.Equal("M_NOT_FOUND", noRoom.Body.Str("errcode"));

        var whoami = await h.CallAsync(HttpMethod.Get, V3 + "/account/whoami", alice.AccessToken);
        Assert.Equal(200, whoami.Status);
        Assert.Equal("@alice:localhost", whoami.Body.Str("user_id"));
    }

    [Fact]
    public async Task Register_goes_through_user_interactive_auth_and_rejects_taken_invalid_and_exclusive_names()
    {
        await using var h = await SandboxHarness.StartAsync();

        var first = await h.CallAsync(HttpMethod.Post, V3 + "/register", json: """{"username":"dave","password":"pw"}""");
        Assert.Equal(401, first.Status);
        Assert.Null(first.Body["errcode"]);
        Assert.Equal("m.login.dummy", first.Body["flows"]![0]!["stages"]![0]!.GetValue<string>());
        var session = first.Body.Str("session");
        Assert.False(string.IsNullOrEmpty(session));

        var done = await h.CallAsync(HttpMethod.Post, V3 + "/register",
            json: $$$"""{"username":"dave","password":"pw","auth":{"type":"m.login.dummy","session":"{{{session}}}"}}""");
        Assert.Equal(200, done.Status);
        Assert.Equal("@dave:localhost", done.Body.Str("user_id"));
        Assert.StartsWith("syt_", done.Body.Str("access_token"), StringComparison.Ordinal);

        var taken = await h.CallAsync(HttpMethod.Post, V3 + "/register", json: """{"username":"dave","password":"pw","auth":{"type":"m.login.dummy"}}""");
        Assert.Equal((400, "M_USER_IN_USE"), (taken.Status, taken.Body.Str("errcode")));

        var invalid = await h.CallAsync(HttpMethod.Post, V3 + "/register", json: """{"username":"bad name!","password":"pw","auth":{"type":"m.login.dummy"}}""");
        Assert.Equal((400, "M_INVALID_USERNAME"), (invalid.Status, invalid.Body.Str("errcode")));

        var exclusive = await h.CallAsync(HttpMethod.Post, V3 + "/register", json: """{"username":"_bridge_mm_eve","password":"pw","auth":{"type":"m.login.dummy"}}""");
        Assert.Equal((400, "M_EXCLUSIVE"), (exclusive.Status, exclusive.Body.Str("errcode")));

        var login = await h.CallAsync(HttpMethod.Post, V3 + "/login",
            json: """{"type":"m.login.password","identifier":{"type":"m.id.user","user":"dave"},"password":"pw"}""");
        Assert.Equal(200, login.Status);
        var wrong = await h.CallAsync(HttpMethod.Post, V3 + "/login",
            json: """{"type":"m.login.password","identifier":{"type":"m.id.user","user":"dave"},"password":"no"}""");
        Assert.Equal((403, "M_FORBIDDEN"), (wrong.Status, wrong.Body.Str("errcode")));
    }

    [Fact]
    public async Task Send_with_same_transaction_id_is_idempotent_per_token()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, name: "R");
        var path = $"{V3}/rooms/{room}/send/m.room.message/txn-1";
        const string content = """{"msgtype":"m.text","body":"hello"}""";

        var a = await h.CallAsync(HttpMethod.Put, path, alice.AccessToken, content);
        var b = await h.CallAsync(HttpMethod.Put, path, alice.AccessToken, content);
        Assert.Equal(200, a.Status);
        Assert.StartsWith("$", a.Body.Str("event_id"), StringComparison.Ordinal);
        Assert.Equal(a.Body.Str("event_id"), b.Body.Str("event_id"));
        Assert.Single(h.Sandbox.GetMessages(room));

        // Another device (token) of the same user reusing the txn id sends a new event.
        var otherToken = await LoginAgainAsync(h, alice.UserId);
        var c = await h.CallAsync(HttpMethod.Put, path, otherToken, content);
        Assert.NotEqual(a.Body.Str("event_id"), c.Body.Str("event_id"));
        Assert.Equal(2, h.Sandbox.GetMessages(room).Count);
    }

    [Fact]
    public async Task A_second_identical_reaction_is_refused_like_synapse_until_the_first_is_redacted()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, name: "R");
        var target = (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/m1", alice.AccessToken,
            """{"msgtype":"m.text","body":"react to me"}""")).Body.Str("event_id");
        string Annotation(string key) => new JsonObject { ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = target, ["key"] = key } }.ToJsonString();
        var reaction = Annotation("👍");

        var first = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.reaction/r1", alice.AccessToken, reaction);
        Assert.Equal(200, first.Status);
        // The same transaction again is the same request (idempotent), not a second reaction.
        Assert.Equal(first.Body.Str("event_id"), (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.reaction/r1", alice.AccessToken, reaction)).Body.Str("event_id"));
        var second = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.reaction/r2", alice.AccessToken, reaction);
        Assert.Equal((400, "M_DUPLICATE_ANNOTATION"), (second.Status, second.Body.Str("errcode")));
        // Another key is another annotation.
        var heart = Annotation("❤️");
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.reaction/r3", alice.AccessToken, heart)).Status);

        var redacted = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/redact/{first.Body.Str("event_id")}/x1", alice.AccessToken, "{}");
        Assert.Equal(200, redacted.Status);
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.reaction/r4", alice.AccessToken, reaction)).Status);
    }

    [Fact]
    public async Task Private_room_requires_an_invite_and_invite_needs_membership()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var carol = h.Sandbox.CreateUser("carol");
        var room = h.Sandbox.CreateRoom(alice.UserId, aliasLocalpart: "ops");

        var denied = await h.CallAsync(HttpMethod.Post, $"{V3}/join/%23ops:localhost", bob.AccessToken, "{}");
        Assert.Equal((403, "M_FORBIDDEN"), (denied.Status, denied.Body.Str("errcode")));

        var outsiderInvite = await h.CallAsync(HttpMethod.Post, $"{V3}/rooms/{room}/invite", carol.AccessToken, $$"""{"user_id":"{{bob.UserId}}"}""");
        Assert.Equal((403, "M_FORBIDDEN"), (outsiderInvite.Status, outsiderInvite.Body.Str("errcode")));

        var sendOutside = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/x", bob.AccessToken, """{"msgtype":"m.text","body":"x"}""");
        Assert.Equal((403, "M_FORBIDDEN"), (sendOutside.Status, sendOutside.Body.Str("errcode")));

        var invite = await h.CallAsync(HttpMethod.Post, $"{V3}/rooms/{room}/invite", alice.AccessToken, $$"""{"user_id":"{{bob.UserId}}"}""");
        Assert.Equal(200, invite.Status);
        var joined = await h.CallAsync(HttpMethod.Post, $"{V3}/rooms/{room}/join", bob.AccessToken, "{}");
        Assert.Equal(200, joined.Status);
        Assert.Equal(room, joined.Body.Str("room_id"));

        var members = await h.CallAsync(HttpMethod.Get, $"{V3}/rooms/{room}/joined_members", bob.AccessToken);
        Assert.Equal(2, members.Body["joined"]!.AsObject().Count);

        var publicRoom = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        var openJoin = await h.CallAsync(HttpMethod.Post, $"{V3}/rooms/{publicRoom}/join", carol.AccessToken, "{}");
        Assert.Equal(200, openJoin.Status);
    }

    [Fact]
    public async Task The_creator_of_a_new_room_has_power_100_and_a_joined_member_power_0()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var created = await h.CallAsync(HttpMethod.Post, V3 + "/createRoom", alice.AccessToken, """{"preset":"public_chat"}""");
        Assert.Equal(200, created.Status);
        var room = created.Body.Str("room_id");

        // m.room.topic needs power 50 (state_default): the creator has 100, as Synapse gives the creator.
        var topic = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/state/m.room.topic/", alice.AccessToken, """{"topic":"ops"}""");
        Assert.Equal(200, topic.Status);

        Assert.Equal(200, (await h.CallAsync(HttpMethod.Post, $"{V3}/rooms/{room}/join", bob.AccessToken, "{}")).Status);
        var denied = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/state/m.room.topic/", bob.AccessToken, """{"topic":"mine"}""");
        Assert.Equal((403, "M_FORBIDDEN"), (denied.Status, denied.Body.Str("errcode")));
    }

    [Fact]
    public async Task Rate_limit_answers_429_with_retry_after_in_body_and_header()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId);
        h.Sandbox.RateLimitPerSecond = 2;

        var statuses = new List<(int Status, JsonObject Body, HttpResponseMessage Response)>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/rl{i}", alice.AccessToken, """{"msgtype":"m.text","body":"x"}"""));
        }

        var limited = statuses.First(s => s.Status == 429);
        Assert.Equal("M_LIMIT_EXCEEDED", limited.Body.Str("errcode"));
        var retryMs = limited.Body["retry_after_ms"]!.GetValue<long>();
        Assert.InRange(retryMs, 1, 1000);
        Assert.True(limited.Response.Headers.RetryAfter?.Delta is { } delta && delta >= TimeSpan.FromSeconds(1));

        h.Sandbox.RateLimitPerSecond = null;
        var after = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/rl-off", alice.AccessToken, """{"msgtype":"m.text","body":"x"}""");
        Assert.Equal(200, after.Status);
    }

    [Fact]
    public async Task Sync_long_poll_wakes_on_new_message_and_lists_invites()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var room = h.Sandbox.CreateRoom(alice.UserId);
        h.Sandbox.Invite(room, alice.UserId, bob.UserId);

        var initial = await h.CallAsync(HttpMethod.Get, $"{V3}/sync", bob.AccessToken);
        Assert.NotNull(initial.Body["rooms"]!["invite"]![room]);
        var since = initial.Body.Str("next_batch");

        h.Sandbox.Join(room, bob.UserId);
        var poll = h.CallAsync(HttpMethod.Get, $"{V3}/sync?since={since}&timeout=10000", alice.AccessToken);
        var next = await poll;
        Assert.NotNull(next.Body["rooms"]!["join"]![room]);

        var since2 = next.Body.Str("next_batch");
        var waiting = h.CallAsync(HttpMethod.Get, $"{V3}/sync?since={since2}&timeout=10000", alice.AccessToken);
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        h.Sandbox.SendMessage(room, bob.UserId, "ping");
        var woke = await waiting;
        var events = woke.Body["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray();
        Assert.Contains(events, e => e!["content"]?["body"]?.GetValue<string>() == "ping");
    }

    [Fact]
    public async Task An_older_homeserver_has_no_authenticated_media_and_serves_the_legacy_path()
    {
        await using var h = await SandboxHarness.StartAsync(configure: o => o.AuthenticatedMedia = false);
        var alice = h.Sandbox.CreateUser("alice");
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/_matrix/media/v3/upload?filename=a.bin") { Content = new ByteArrayContent([5, 6]) };
        upload.Headers.Authorization = new("Bearer", alice.AccessToken);
        upload.Content.Headers.ContentType = new("application/octet-stream");
        var uri = JsonNode.Parse(await (await h.Http.SendAsync(upload)).Content.ReadAsStringAsync())!["content_uri"]!.GetValue<string>();
        var mediaId = uri["mxc://localhost/".Length..];

        var v1 = await h.CallAsync(HttpMethod.Get, $"/_matrix/client/v1/media/download/localhost/{mediaId}", alice.AccessToken);
        Assert.Equal(404, v1.Status);
        Assert.Equal("M_UNRECOGNIZED", v1.Body.Str("errcode"));
        Assert.Equal(new byte[] { 5, 6 }, await h.Http.GetByteArrayAsync($"/_matrix/media/v3/download/localhost/{mediaId}"));
    }

    [Fact]
    public async Task Media_upload_then_download_on_both_paths()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/_matrix/media/v3/upload?filename=a.bin")
        {
            Content = new ByteArrayContent([1, 2, 3, 4]),
        };
        upload.Headers.Authorization = new("Bearer", alice.AccessToken);
        upload.Content.Headers.ContentType = new("application/octet-stream");
        var response = await h.Http.SendAsync(upload);
        var uri = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["content_uri"]!.GetValue<string>();
        Assert.StartsWith("mxc://localhost/", uri, StringComparison.Ordinal);
        var mediaId = uri["mxc://localhost/".Length..];

        // Authenticated media (Synapse's default since 1.120): the legacy path no longer serves new media.
        var legacy = await h.CallAsync(HttpMethod.Get, $"/_matrix/media/v3/download/localhost/{mediaId}");
        Assert.Equal(404, legacy.Status);
        Assert.Equal("M_NOT_FOUND", legacy.Body.Str("errcode"));
        var unauthenticated = await h.CallAsync(HttpMethod.Get, $"/_matrix/client/v1/media/download/localhost/{mediaId}");
        Assert.Equal(401, unauthenticated.Status);
        using var authed = new HttpRequestMessage(HttpMethod.Get, $"/_matrix/client/v1/media/download/localhost/{mediaId}");
        authed.Headers.Authorization = new("Bearer", alice.AccessToken);
        var bytes = await (await h.Http.SendAsync(authed)).Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, bytes);
    }

    private static async Task<string> LoginAgainAsync(SandboxHarness h, string userId)
    {
        var login = await h.CallAsync(HttpMethod.Post, V3 + "/login",
            json: $$"""{"type":"m.login.password","identifier":{"type":"m.id.user","user":"{{userId}}"},"password":"password"}""");
        return login.Body.Str("access_token")!;
    }
}
