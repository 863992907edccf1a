using System.Net.WebSockets;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Tests;

public sealed class WebSocketTests
{
    [Fact]
    public async Task Challenge_then_hello_seq0_and_posted_with_post_as_string()
    {
        await using var s = await TestServer.StartAsync();
        var (ws, hello) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, s.Seed.AdminToken);
        await using var _ = ws;
        Assert.Equal(0, hello["seq"]!.GetValue<long>());
        Assert.Equal(26, hello["data"].Str("connection_id").Length);
        Assert.Equal(s.Seed.Admin.Id, hello["broadcast"].Str("user_id"));

        // A ping reply does not use or advance the event seq.
        await ws.SendAsync(new JsonObject { ["seq"] = 2, ["action"] = "ping" });
        var pong = await ws.ReceiveAsync();
        Assert.Equal(2, pong!["seq_reply"]!.GetValue<long>());
        Assert.Equal("pong", pong["data"].Str("text"));
        Assert.Null(pong["seq"]);

        var post = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "hi ws"); // the author gets its own posted
        var posted = await ws.ExpectEventAsync("posted");
        Assert.Equal(1, posted["seq"]!.GetValue<long>());
        var raw = posted["data"]!["post"]!;
        Assert.Equal(System.Text.Json.JsonValueKind.String, raw.GetValueKind());
        var inner = JsonNode.Parse(raw.GetValue<string>())!;
        Assert.Equal(post.Id, inner.Str("id"));
        Assert.Equal("hi ws", inner.Str("message"));
        Assert.Equal("@admin", posted["data"].Str("sender_name"));
        Assert.Equal(s.Seed.Channel.Id, posted["broadcast"].Str("channel_id"));
    }

    [Fact]
    public async Task Header_auth_unknown_actions_and_bad_token()
    {
        await using var s = await TestServer.StartAsync();
        await using (var ws = await RawWs.ConnectAsync(s.Sandbox.WebSocketUrl, headerToken: s.Seed.AdminToken))
        {
            var hello = await ws.ReceiveAsync();
            Assert.Equal("hello", hello.Str("event"));
            await ws.SendAsync(new JsonObject { ["seq"] = 1, ["action"] = "nonsense" });
            var fail = await ws.ReceiveAsync();
            Assert.Equal("FAIL", fail.Str("status"));
            Assert.Equal("api.web_socket_router.bad_action.app_error", fail!["error"].Str("id"));
        }
        await using (var ws = await RawWs.ConnectAsync(s.Sandbox.WebSocketUrl))
        {
            await ws.SendAsync(new JsonObject { ["seq"] = 1, ["action"] = "ping" });
            var notAuth = await ws.ReceiveAsync();
            Assert.Equal("api.web_socket_router.not_authenticated.app_error", notAuth!["error"].Str("id"));
            await ws.SendAsync(new JsonObject { ["seq"] = 2, ["action"] = "authentication_challenge", ["data"] = new JsonObject { ["token"] = "bogus" } });
            Assert.Null(await ws.ReceiveAsync()); // closed without an error frame
        }
    }

    [Fact]
    public async Task Events_go_only_to_channel_members()
    {
        await using var s = await TestServer.StartAsync();
        var (_, memberToken) = s.AddMember("member");
        var outsider = s.Sandbox.CreateUser("outsider");
        s.Sandbox.AddToTeam(s.Seed.Team.Id, outsider.Id);
        var outsiderToken = s.Sandbox.CreateAccessToken(outsider.Id);
        var (member, _) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, memberToken);
        var (other, _) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, outsiderToken);
        await using var m = member;
        await using var o = other;
        s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "members only");
        var ev = await member.ExpectEventAsync("posted");
        Assert.Contains("members only", ev["data"].Str("post"), StringComparison.Ordinal);
        var nothing = await other.ReceiveAsync(timeoutMs: 500);
        Assert.Null(nothing);
    }

    [Fact]
    public async Task Resume_replays_missed_events_without_a_new_hello()
    {
        await using var s = await TestServer.StartAsync();
        var (ws, hello) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, s.Seed.AdminToken);
        var connectionId = hello["data"].Str("connection_id");
        s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "before");
        var first = await ws.ExpectEventAsync("posted");
        Assert.Equal(1, first["seq"]!.GetValue<long>());

        s.Sandbox.DropWebSockets(keepResumeQueue: true);
        Assert.Null(await ws.ReceiveAsync(2000));
        await ws.DisposeAsync();
        s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "missed 1");
        s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "missed 2");

        await using var again = await RawWs.ConnectAsync(new Uri(s.Sandbox.WebSocketUrl + $"?connection_id={connectionId}&sequence_number=2"));
        await again.SendAsync(new JsonObject { ["seq"] = 1, ["action"] = "authentication_challenge", ["data"] = new JsonObject { ["token"] = s.Seed.AdminToken } });
        Assert.Equal("OK", (await again.ReceiveAsync()).Str("status"));
        var r1 = await again.ReceiveAsync();
        var r2 = await again.ReceiveAsync();
        Assert.Equal(("posted", 2L), (r1.Str("event"), r1!["seq"]!.GetValue<long>()));
        Assert.Equal(("posted", 3L), (r2.Str("event"), r2!["seq"]!.GetValue<long>()));
        Assert.Contains("missed 1", r1["data"].Str("post"), StringComparison.Ordinal);
        Assert.Contains("missed 2", r2["data"].Str("post"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_connection_or_too_old_gap_gets_a_new_connection_and_hello()
    {
        await using var s = await TestServer.StartAsync();
        var (ws, hello) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, s.Seed.AdminToken);
        var connectionId = hello["data"].Str("connection_id");

        // Gap too old: more than 128 events while away.
        s.Sandbox.DropWebSockets(keepResumeQueue: true);
        await ws.DisposeAsync();
        for (var i = 0; i < 130; i++)
        {
            s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "flood " + i);
        }
        var (again, hello2) = await RawWs.ConnectAuthenticatedAsync(new Uri(s.Sandbox.WebSocketUrl + $"?connection_id={connectionId}&sequence_number=1"), s.Seed.AdminToken);
        Assert.NotEqual(connectionId, hello2["data"].Str("connection_id"));
        Assert.Equal(0, hello2["seq"]!.GetValue<long>());

        // Unknown id: the hub forgot the connection.
        var secondId = hello2["data"].Str("connection_id");
        s.Sandbox.DropWebSockets(keepResumeQueue: false);
        await again.DisposeAsync();
        var (third, hello3) = await RawWs.ConnectAuthenticatedAsync(new Uri(s.Sandbox.WebSocketUrl + $"?connection_id={secondId}&sequence_number=1"), s.Seed.AdminToken);
        await using var _ = third;
        Assert.NotEqual(secondId, hello3["data"].Str("connection_id"));
    }

    [Fact]
    public async Task Connection_id_without_sequence_number_is_closed()
    {
        await using var s = await TestServer.StartAsync();
        await using var ws = await RawWs.ConnectAsync(new Uri(s.Sandbox.WebSocketUrl + "?connection_id=abc"));
        Assert.Null(await ws.ReceiveAsync());
    }

    [Fact]
    public async Task Edits_deletes_reactions_and_typing_are_broadcast()
    {
        await using var s = await TestServer.StartAsync();
        var (bob, bobToken) = s.AddMember("bob");
        var (ws, _) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, s.Seed.AdminToken);
        var (bobWs, _) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, bobToken);
        await using var a = ws;
        await using var b = bobWs;
        var post = s.Sandbox.Post(bob.Id, s.Seed.Channel.Id, "v1");
        await ws.ExpectEventAsync("posted");
        s.Sandbox.EditPost(bob.Id, post.Id, "v2");
        var edited = await ws.ExpectEventAsync("post_edited");
        Assert.Equal("v2", JsonNode.Parse(edited["data"].Str("post")).Str("message"));
        s.Sandbox.React(bob.Id, post.Id, "smile");
        var reaction = await ws.ExpectEventAsync("reaction_added");
        Assert.Equal("smile", JsonNode.Parse(reaction["data"].Str("reaction")).Str("emoji_name"));
        s.Sandbox.DeletePost(bob.Id, post.Id);
        var deletedForAdmin = await ws.ExpectEventAsync("post_deleted");
        Assert.Equal(bob.Id, deletedForAdmin["data"].Str("delete_by"));
        var deletedForBob = await bobWs.ExpectEventAsync("post_deleted");
        Assert.Null(deletedForBob["data"]!["delete_by"]);

        await bobWs.SendAsync(new JsonObject { ["seq"] = 5, ["action"] = "user_typing", ["data"] = new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["parent_id"] = "" } });
        var typing = await ws.ExpectEventAsync("typing");
        Assert.Equal(bob.Id, typing["data"].Str("user_id"));
    }

    [Fact]
    public async Task Seq_counts_events_per_connection()
    {
        await using var s = await TestServer.StartAsync();
        var (ws, _) = await RawWs.ConnectAuthenticatedAsync(s.Sandbox.WebSocketUrl, s.Seed.AdminToken);
        await using var _ = ws;
        for (var i = 0; i < 5; i++)
        {
            s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "n" + i);
            await ws.SendAsync(new JsonObject { ["seq"] = 10 + i, ["action"] = "ping" });
        }
        var seqs = new List<long>();
        while (seqs.Count < 5)
        {
            var msg = await ws.ReceiveAsync();
            Assert.NotNull(msg);
            if (msg["seq"] is { } seq)
            {
                seqs.Add(seq.GetValue<long>());
            }
        }
        Assert.Equal([1L, 2, 3, 4, 5], seqs);
        Assert.Equal(WebSocketState.Open, ws.State);
    }
}

/// <summary>System time plus an offset a test can move forward.</summary>
internal sealed class ShiftedTime : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}

public sealed class ReaperTests
{
    [Fact]
    public async Task A_connection_idle_for_five_minutes_cannot_resume()
    {
        var time = new ShiftedTime();
        await using var sandbox = new MattermostSandbox(new SandboxSettings(), time);
        await sandbox.StartAsync();
        var seed = sandbox.Seed();
        var (ws, hello) = await RawWs.ConnectAuthenticatedAsync(sandbox.WebSocketUrl, seed.AdminToken);
        var id = hello["data"].Str("connection_id");
        sandbox.DropWebSockets(keepResumeQueue: true);
        await ws.DisposeAsync();

        time.Offset = TimeSpan.FromMinutes(4);
        var (soon, soonHello) = await ConnectResumingAsync(sandbox, seed, id);
        Assert.Null(soonHello); // resumed: no hello within the reaper interval
        sandbox.DropWebSockets(keepResumeQueue: true);
        await soon.DisposeAsync();

        time.Offset = TimeSpan.FromMinutes(10);
        var (late, lateHello) = await ConnectResumingAsync(sandbox, seed, id);
        await using var _ = late;
        Assert.NotNull(lateHello);
        Assert.NotEqual(id, lateHello["data"].Str("connection_id"));
    }

    private static async Task<(RawWs Ws, JsonObject? Hello)> ConnectResumingAsync(MattermostSandbox sandbox, SandboxSeed seed, string id)
    {
        var ws = await RawWs.ConnectAsync(new Uri(sandbox.WebSocketUrl + $"?connection_id={id}&sequence_number=1"));
        await ws.SendAsync(new JsonObject { ["seq"] = 1, ["action"] = "authentication_challenge", ["data"] = new JsonObject { ["token"] = seed.AdminToken } });
        Assert.Equal("OK", (await ws.ReceiveAsync()).Str("status"));
        var next = await ws.ReceiveAsync(timeoutMs: 700);
        return (ws, next?["event"]?.GetValue<string>() == "hello" ? next : null);
    }
}
