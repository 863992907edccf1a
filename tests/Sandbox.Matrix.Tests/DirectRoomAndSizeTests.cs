using System.Text.Json.Nodes;

namespace Sandbox.Matrix.Tests;

/// <summary>Direct rooms (<c>is_direct</c>, <c>m.direct</c> account data) and the 65,536-byte event limit, as the spec says.</summary>
public sealed class DirectRoomAndSizeTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Account_data_is_per_user_round_trips_and_appears_in_sync()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var path = V3 + "/user/%40alice%3Alocalhost/account_data/m.direct";

        var none = await h.CallAsync(HttpMethod.Get, path, alice.AccessToken);
        Assert.Equal((404, "M_NOT_FOUND"), (none.Status, none.Body.Str("errcode")));

        var put = await h.CallAsync(HttpMethod.Put, path, alice.AccessToken, """{"@bob:localhost":["!r:localhost"]}""");
        Assert.Equal(200, put.Status);
        var got = await h.CallAsync(HttpMethod.Get, path, alice.AccessToken);
        Assert.Equal(200, got.Status);
        Assert.Equal("!r:localhost", got.Body["@bob:localhost"]![0]!.GetValue<string>());

        // Another user's account data can be neither read nor written.
        Assert.Equal((403, "M_FORBIDDEN"), ToPair(await h.CallAsync(HttpMethod.Get, path, bob.AccessToken)));
        Assert.Equal((403, "M_FORBIDDEN"), ToPair(await h.CallAsync(HttpMethod.Put, path, bob.AccessToken, "{}")));
        Assert.Equal((401, "M_MISSING_TOKEN"), ToPair(await h.CallAsync(HttpMethod.Put, path, null, "{}")));
        Assert.Equal((400, "M_NOT_JSON"), ToPair(await h.CallAsync(HttpMethod.Put, path, alice.AccessToken, "{nope")));
        Assert.Equal((405, "M_BAD_JSON"), ToPair(await h.CallAsync(HttpMethod.Put, V3 + "/user/%40alice%3Alocalhost/account_data/m.fully_read", alice.AccessToken, "{}")));

        var sync = await h.CallAsync(HttpMethod.Get, V3 + "/sync", alice.AccessToken);
        var events = sync.Body["account_data"]!["events"]!.AsArray();
        var direct = Assert.Single(events, e => e!["type"]!.GetValue<string>() == "m.direct");
        Assert.Equal("!r:localhost", direct!["content"]!["@bob:localhost"]![0]!.GetValue<string>());
        var bobSync = await h.CallAsync(HttpMethod.Get, V3 + "/sync", bob.AccessToken);
        Assert.Empty(bobSync.Body["account_data"]!["events"]!.AsArray());

        // An incremental sync carries only what changed since.
        var since = sync.Body.Str("next_batch");
        await h.CallAsync(HttpMethod.Put, V3 + "/user/%40alice%3Alocalhost/account_data/org.example.other", alice.AccessToken, """{"x":1}""");
        var next = await h.CallAsync(HttpMethod.Get, V3 + "/sync?timeout=0&since=" + since, alice.AccessToken);
        var changed = next.Body["account_data"]!["events"]!.AsArray();
        Assert.Equal("org.example.other", Assert.Single(changed)!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_direct_trusted_private_chat_marks_the_invite_is_direct_and_gives_the_invitee_full_power()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        h.Sandbox.CreateUser("bob");
        var created = await h.CallAsync(HttpMethod.Post, V3 + "/createRoom", alice.AccessToken,
            """{"is_direct":true,"preset":"trusted_private_chat","invite":["@bob:localhost"]}""");
        Assert.Equal(200, created.Status);
        var roomId = created.Body.Str("room_id")!;
        var timeline = h.Sandbox.GetTimeline(roomId);
        var invite = Assert.Single(timeline, e => e["type"]!.GetValue<string>() == "m.room.member" && e["state_key"]!.GetValue<string>() == "@bob:localhost");
        Assert.Equal("invite", invite["content"]!["membership"]!.GetValue<string>());
        Assert.True(invite["content"]!["is_direct"]!.GetValue<bool>());
        var power = Assert.Single(timeline, e => e["type"]!.GetValue<string>() == "m.room.power_levels");
        Assert.Equal(100, power["content"]!["users"]!["@bob:localhost"]!.GetValue<int>());
        var joinRules = Assert.Single(timeline, e => e["type"]!.GetValue<string>() == "m.room.join_rules");
        Assert.Equal("invite", joinRules["content"]!["join_rule"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_event_over_65536_bytes_as_a_signed_pdu_is_refused_with_413_M_TOO_LARGE()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var roomId = h.Sandbox.CreateRoom(alice.UserId);
        async Task<int> Send(int bodyBytes, string txn)
        {
            var content = new JsonObject { ["msgtype"] = "m.text", ["body"] = new string('x', bodyBytes) };
            var r = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{Uri.EscapeDataString(roomId)}/send/m.room.message/{txn}", alice.AccessToken, content.ToJsonString());
            if (r.Status == 413)
            {
                Assert.Equal("M_TOO_LARGE", r.Body.Str("errcode"));
            }

            return r.Status;
        }

        Assert.Equal(200, await Send(60_000, "t1"));
        // Content alone under 65,536 bytes, but not once the event's envelope (ids, hashes, signatures) is added.
        Assert.Equal(413, await Send(65_000, "t2"));
        Assert.Equal(413, await Send(70_000, "t3"));

        // Multi-byte characters count as their UTF-8 bytes, not as characters.
        var wide = new JsonObject { ["msgtype"] = "m.text", ["body"] = new string('\u00e9', 33_000) }; // 66,000 bytes
        var r = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{Uri.EscapeDataString(roomId)}/send/m.room.message/t4", alice.AccessToken, wide.ToJsonString());
        Assert.Equal((413, "M_TOO_LARGE"), (r.Status, r.Body.Str("errcode")));
        Assert.Single(h.Sandbox.GetMessages(roomId));
    }

    private static (int, string?) ToPair((int Status, JsonObject Body, HttpResponseMessage Response) r) => (r.Status, r.Body.Str("errcode"));
}
