using System.Text.Json.Nodes;
using Sandbox.Matrix.Appservices;

namespace Sandbox.Matrix.Tests;

/// <summary>
/// Typing notifications as the client-server spec has them (<c>PUT /rooms/{roomId}/typing/{userId}</c>, m.typing in
/// <c>/sync</c>) and as appservices receive them (the transaction's <c>ephemeral</c>, only when the registration asks).
/// </summary>
public sealed class TypingTests
{
    private const string V3 = "/_matrix/client/v3";
    private const string Bot = "@_bridge_bot:localhost";

    private static string TypingPath(string room, string user) => $"{V3}/rooms/{Uri.EscapeDataString(room)}/typing/{Uri.EscapeDataString(user)}";

    [Fact]
    public async Task Typing_is_shown_in_sync_as_everyone_typing_now_and_cleared_by_typing_false()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Join(room, bob.UserId);
        var since = (await h.CallAsync(HttpMethod.Get, V3 + "/sync", alice.AccessToken)).Body.Str("next_batch");

        var put = await h.CallAsync(HttpMethod.Put, TypingPath(room, bob.UserId), bob.AccessToken, """{"typing":true,"timeout":30000}""");
        Assert.Equal(200, put.Status);
        Assert.Empty(put.Body);
        var (typing, next) = await TypingInSyncAsync(h, alice.AccessToken, since, room);
        Assert.Equal([bob.UserId], typing);

        // Nothing changed since: the room's ephemeral section has no m.typing (the sync waits out its timeout).
        var (quiet, next2) = await TypingInSyncAsync(h, alice.AccessToken, next, room);
        Assert.Null(quiet);

        // Refreshing one's typing is no change either; a second person typing is.
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, TypingPath(room, bob.UserId), bob.AccessToken, """{"typing":true,"timeout":30000}""")).Status);
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, TypingPath(room, alice.UserId), alice.AccessToken, """{"typing":true}""")).Status);
        var (both, next3) = await TypingInSyncAsync(h, alice.AccessToken, next2, room);
        Assert.Equal([alice.UserId, bob.UserId], both);

        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, TypingPath(room, bob.UserId), bob.AccessToken, """{"typing":false}""")).Status);
        var (after, _) = await TypingInSyncAsync(h, alice.AccessToken, next3, room);
        Assert.Equal([alice.UserId], after);
        Assert.DoesNotContain(h.Sandbox.GetTimeline(room), e => e["type"]?.GetValue<string>() == "m.typing"); // never stored
    }

    [Fact]
    public async Task Typing_is_refused_for_another_user_outside_the_room_and_with_a_bad_body()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var carol = h.Sandbox.CreateUser("carol");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Join(room, bob.UserId);
        h.Sandbox.Join(room, Bot);

        async Task Refused(string path, string token, string json, int status, string errcode)
        {
            var r = await h.CallAsync(HttpMethod.Put, path, token, json);
            Assert.Equal(status, r.Status);
            Assert.Equal(errcode, r.Body.Str("errcode"));
        }

        await Refused(TypingPath(room, bob.UserId), alice.AccessToken, """{"typing":true,"timeout":1000}""", 403, "M_FORBIDDEN");
        await Refused(TypingPath(room, carol.UserId), carol.AccessToken, """{"typing":true,"timeout":1000}""", 403, "M_FORBIDDEN");
        await Refused(TypingPath("!nowhere:localhost", alice.UserId), alice.AccessToken, """{"typing":true}""", 403, "M_FORBIDDEN");
        await Refused(TypingPath(room, alice.UserId), alice.AccessToken, """{}""", 400, "M_MISSING_PARAM");
        await Refused(TypingPath(room, alice.UserId), alice.AccessToken, """{"typing":"yes"}""", 400, "M_BAD_JSON");
        await Refused(TypingPath(room, alice.UserId), alice.AccessToken, """{"typing":true,"timeout":"soon"}""", 400, "M_BAD_JSON");
        await Refused(TypingPath(room, alice.UserId), alice.AccessToken, """{"typing":true,"timeout":-1}""", 400, "M_BAD_JSON");
        await Refused(TypingPath(room, alice.UserId), alice.AccessToken, """{"typing":true,"timeout":1.5}""", 400, "M_BAD_JSON");
        await Refused(TypingPath(room, alice.UserId), alice.AccessToken, """[true]""", 400, "M_BAD_JSON");
        await Refused(TypingPath(room, alice.UserId), alice.AccessToken, """{typing""", 400, "M_NOT_JSON");

        // An appservice types as a user of its namespace (?user_id=) in a room that user joined, and as no one else.
        await Refused(TypingPath(room, alice.UserId) + "?user_id=" + Uri.EscapeDataString(alice.UserId), SandboxHarness.AsToken, """{"typing":true}""", 403, "M_FORBIDDEN");
        await Refused(TypingPath(room, alice.UserId) + "?user_id=" + Uri.EscapeDataString(Bot), SandboxHarness.AsToken, """{"typing":true}""", 403, "M_FORBIDDEN");
        Assert.Empty(h.Sandbox.GetTyping(room));
        var asBot = await h.CallAsync(HttpMethod.Put, TypingPath(room, Bot) + "?user_id=" + Uri.EscapeDataString(Bot), SandboxHarness.AsToken, """{"typing":true,"timeout":30000}""");
        Assert.Equal(200, asBot.Status);
        Assert.Equal([Bot], h.Sandbox.GetTyping(room));
    }

    [Fact]
    public async Task Typing_ends_by_itself_after_its_timeout()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        var since = (await h.CallAsync(HttpMethod.Get, V3 + "/sync", alice.AccessToken)).Body.Str("next_batch");
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Put, TypingPath(room, alice.UserId), alice.AccessToken, """{"typing":true,"timeout":200}""")).Status);
        Assert.Equal([alice.UserId], h.Sandbox.GetTyping(room));

        await AppserviceTests.WaitUntilAsync(() => h.Sandbox.GetTyping(room).Count == 0);
        var (typing, _) = await TypingInSyncAsync(h, alice.AccessToken, since, room);
        Assert.NotNull(typing);
        Assert.Empty(typing); // seen as started and ended: the latest m.typing names no one
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Appservice_transactions_carry_m_typing_only_when_the_registration_asks(bool stable, bool unstable)
    {
        await using var appservice = new FakeAppservice();
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url, registration: r =>
        {
            r.ReceiveEphemeral = stable;
            r.ReceiveEphemeralUnstable = unstable;
        });
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        var unrelated = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Join(room, Bot);
        h.Sandbox.SetTyping(unrelated, alice.UserId, true);
        h.Sandbox.SetTyping(room, alice.UserId, true);
        h.Sandbox.SetTyping(room, alice.UserId, false);
        h.Sandbox.SendMessage(room, alice.UserId, "after typing");

        await AppserviceTests.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0
            && h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Body.Contains("after typing", StringComparison.Ordinal)));
        var bodies = h.Sandbox.GetTransactionAttempts("bridge").Select(a => JsonNode.Parse(a.Body)!.AsObject()).ToList();
        var stableEdus = bodies.SelectMany(b => b["ephemeral"]?.AsArray() ?? []).ToList();
        var unstableEdus = bodies.SelectMany(b => b["de.sorunome.msc2409.ephemeral"]?.AsArray() ?? []).ToList();
        Assert.Equal(stable, bodies.All(b => b.ContainsKey("ephemeral")));
        Assert.Equal(unstable, bodies.All(b => b.ContainsKey("de.sorunome.msc2409.ephemeral")));
        if (!stable)
        {
            Assert.DoesNotContain(bodies, b => b.ContainsKey("ephemeral"));
        }

        if (!unstable)
        {
            Assert.DoesNotContain(bodies, b => b.ContainsKey("de.sorunome.msc2409.ephemeral"));
        }

        var edus = stable ? stableEdus : unstableEdus;
        if (!stable && !unstable)
        {
            Assert.Empty(edus);
            return;
        }

        // The room the appservice is in, started then stopped; nothing of the room it is not interested in.
        Assert.All(edus, e =>
        {
            Assert.Equal("m.typing", e!["type"]!.GetValue<string>());
            Assert.Equal(room, e["room_id"]!.GetValue<string>());
        });
        var lists = edus.Select(e => string.Join(",", e!["content"]!["user_ids"]!.AsArray().Select(u => u!.GetValue<string>()))).ToList();
        Assert.Equal([alice.UserId, ""], lists);
    }

    [Fact]
    public async Task A_member_who_leaves_stops_typing_and_the_new_list_reaches_sync_and_the_appservice()
    {
        await using var appservice = new FakeAppservice();
        await appservice.StartAsync();
        await using var h = await SandboxHarness.StartAsync(appservice.Url, registration: r => r.ReceiveEphemeral = true);
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var room = h.Sandbox.CreateRoom(alice.UserId, isPublic: true);
        h.Sandbox.Join(room, Bot);
        h.Sandbox.Join(room, bob.UserId);
        h.Sandbox.SetTyping(room, alice.UserId, true);
        h.Sandbox.SetTyping(room, bob.UserId, true);
        var since = (await h.CallAsync(HttpMethod.Get, V3 + "/sync", alice.AccessToken)).Body.Str("next_batch");

        h.Sandbox.Leave(room, bob.UserId); // Synapse: user_left_room stops the typing (kicks and bans go the same way)

        Assert.Equal([alice.UserId], h.Sandbox.GetTyping(room));
        var (typing, _) = await TypingInSyncAsync(h, alice.AccessToken, since, room);
        Assert.Equal([alice.UserId], typing);
        await AppserviceTests.WaitUntilAsync(() => h.Sandbox.GetPendingEventCount("bridge") == 0
            && h.Sandbox.GetTransactionAttempts("bridge").Any(a => a.Succeeded && a.Body.Contains("\"leave\"", StringComparison.Ordinal)));
        var lists = h.Sandbox.GetTransactionAttempts("bridge").Where(a => a.Succeeded)
            .SelectMany(a => JsonNode.Parse(a.Body)!["ephemeral"]?.AsArray() ?? [])
            .Select(e => string.Join(",", e!["content"]!["user_ids"]!.AsArray().Select(u => u!.GetValue<string>()))).ToList();
        Assert.Equal(alice.UserId, lists[^1]);
        Assert.Equal([alice.UserId, alice.UserId + "," + bob.UserId, alice.UserId], lists);

        // Back in the room, Bob is not typing until he says so.
        h.Sandbox.Join(room, bob.UserId);
        Assert.Equal([alice.UserId], h.Sandbox.GetTyping(room));
    }

    [Fact]
    public void Registration_file_reads_both_ephemeral_keys()
    {
        const string Head = "id: b\nurl: http://127.0.0.1:1\nas_token: a\nhs_token: h\nsender_localpart: bot\n";
        var none = RegistrationLoader.Parse(Head);
        var stable = RegistrationLoader.Parse(Head + "receive_ephemeral: true\n");
        var unstable = RegistrationLoader.Parse(Head + "de.sorunome.msc2409.push_ephemeral: true\n");
        Assert.False(none.ReceiveEphemeral || none.ReceiveEphemeralUnstable);
        Assert.True(stable.ReceiveEphemeral);
        Assert.False(stable.ReceiveEphemeralUnstable);
        Assert.True(unstable.ReceiveEphemeralUnstable);
        Assert.False(unstable.ReceiveEphemeral);
    }

    /// <summary>One sync from <paramref name="since"/> (waiting up to 1 s): the room's m.typing user ids (null when none was sent) and next_batch.</summary>
    private static async Task<(List<string>? Typing, string? Next)> TypingInSyncAsync(SandboxHarness h, string token, string? since, string room)
    {
        var sync = await h.CallAsync(HttpMethod.Get, V3 + "/sync?timeout=1000&since=" + since, token);
        Assert.Equal(200, sync.Status);
        var edus = sync.Body["rooms"]?["join"]?[room]?["ephemeral"]?["events"]?.AsArray();
        var typing = edus?.FirstOrDefault(e => e!["type"]!.GetValue<string>() == "m.typing");
        return (typing?["content"]!["user_ids"]!.AsArray().Select(u => u!.GetValue<string>()).ToList(), sync.Body.Str("next_batch"));
    }
}
