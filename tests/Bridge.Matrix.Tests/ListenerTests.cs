using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

public sealed class ListenerTests
{
    private static string Txn(params string[] bodies) => new JsonObject
    {
        ["events"] = new JsonArray([.. bodies.Select((b, i) => (JsonNode)Message("$ev" + i + b.Length, b))]),
    }.ToJsonString();

    private static JsonObject Message(string eventId, string body, string msgtype = "m.text", string sender = "@alice:localhost") => new()
    {
        ["type"] = "m.room.message",
        ["room_id"] = "ROOMPLACEHOLDER",
        ["sender"] = sender,
        ["event_id"] = eventId,
        ["origin_server_ts"] = 1_700_000_000_000,
        ["content"] = new JsonObject { ["msgtype"] = msgtype, ["body"] = body },
    };

    private static string InRoom(string json, string roomId) => json.Replace("ROOMPLACEHOLDER", roomId, StringComparison.Ordinal);

    [Fact]
    public async Task Wrong_missing_and_query_string_tokens()
    {
        await using var h = await BridgeHarness.StartAsync();
        var body = InRoom(Txn("secret"), h.RoomId);

        var wrong = await h.PutTransactionAsync("/_matrix/app/v1/transactions/t1", body, "not-the-token");
        Assert.Equal((403, "M_FORBIDDEN"), (wrong.Status, wrong.Body["errcode"]?.GetValue<string>()));
        var missing = await h.PutTransactionAsync("/_matrix/app/v1/transactions/t2", body, bearer: null);
        Assert.Equal(401, missing.Status);
        var wrongQuery = await h.PutTransactionAsync("/transactions/t3?access_token=nope", body, bearer: null);
        Assert.Equal((403, "M_FORBIDDEN"), (wrongQuery.Status, wrongQuery.Body["errcode"]?.GetValue<string>()));
        var mismatch = await h.PutTransactionAsync("/transactions/t4?access_token=nope", body);
        Assert.Equal(403, mismatch.Status);
        Assert.Equal(0, h.Sink.Calls);

        var legacy = await h.PutTransactionAsync($"/transactions/t5?access_token={BridgeHarness.HsToken}", body, bearer: null);
        Assert.Equal(200, legacy.Status);
        Assert.Single(h.Sink.Accepted);
    }

    [Fact]
    public async Task Malformed_bodies_are_400_and_nothing_is_processed()
    {
        await using var h = await BridgeHarness.StartAsync();
        var notJson = await h.PutTransactionAsync("/_matrix/app/v1/transactions/m1", "{\"events\": [");
        Assert.Equal((400, "M_NOT_JSON"), (notJson.Status, notJson.Body["errcode"]?.GetValue<string>()));
        var badShape = await h.PutTransactionAsync("/_matrix/app/v1/transactions/m2", "{\"events\": 5}");
        Assert.Equal((400, "M_BAD_JSON"), (badShape.Status, badShape.Body["errcode"]?.GetValue<string>()));
        var array = await h.PutTransactionAsync("/_matrix/app/v1/transactions/m3", "[]");
        Assert.Equal(400, array.Status);
        Assert.Equal(0, h.Sink.Calls);

        var unknownPath = await h.PutTransactionAsync("/_matrix/app/v1/nothing", "{}");
        Assert.Equal((404, "M_UNRECOGNIZED"), (unknownPath.Status, unknownPath.Body["errcode"]?.GetValue<string>()));
    }

    [Fact]
    public async Task Unknown_event_types_are_acknowledged_and_ignored_and_a_70KB_transaction_is_accepted()
    {
        await using var h = await BridgeHarness.StartAsync();
        var odd = new JsonObject
        {
            ["events"] = new JsonArray(
                new JsonObject { ["type"] = "org.example.custom", ["room_id"] = h.RoomId, ["sender"] = "@alice:localhost", ["event_id"] = "$odd", ["content"] = new JsonObject() },
                new JsonObject { ["type"] = "m.room.message", ["room_id"] = h.RoomId, ["sender"] = "@alice:localhost", ["event_id"] = "$nocontent" }),
            ["ephemeral"] = new JsonArray(),
            ["de.sorunome.msc2409.to_device"] = new JsonArray(),
        };
        var ack = await h.PutTransactionAsync("/_matrix/app/v1/transactions/u1", odd.ToJsonString());
        Assert.Equal(200, ack.Status);
        Assert.Empty(h.Sink.Accepted);

        var big = new string('x', 70 * 1024);
        var large = await h.PutTransactionAsync("/_matrix/app/v1/transactions/u2", InRoom(Txn(big), h.RoomId));
        Assert.Equal(200, large.Status);
        var accepted = Assert.Single(h.Sink.Accepted);
        Assert.Equal(big.Length, accepted.Text.Length);
    }

    [Fact]
    public async Task Repeated_transaction_id_is_a_no_op()
    {
        await using var h = await BridgeHarness.StartAsync();
        var body = InRoom(Txn("once"), h.RoomId);
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/r1", body)).Status);
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/r1", body)).Status);
        Assert.Equal(1, h.Sink.Calls);
        Assert.Single(h.Sink.Accepted);
    }

    [Fact]
    public async Task Old_transaction_marks_are_pruned_and_the_newest_still_guard_retries()
    {
        await using var h = await BridgeHarness.StartAsync();
        h.Connector.PruneEvery = 2;
        h.Connector.KeepTransactionMarks = 3;
        for (var i = 0; i < 8; i++)
        {
            var body = InRoom(new JsonObject { ["events"] = new JsonArray(Message("$p" + i, "p" + i)) }.ToJsonString(), h.RoomId);
            Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/p" + i, body)).Status);
            await Task.Delay(2);
        }

        var marks = await h.State.ListAsync("matrix:matrix:txns", CancellationToken.None);
        Assert.InRange(marks.Count, 1, 4);
        Assert.Contains("p7", marks.Keys);
        Assert.DoesNotContain("p0", marks.Keys);
        var calls = h.Sink.Calls;
        var last = InRoom(new JsonObject { ["events"] = new JsonArray(Message("$p7", "p7")) }.ToJsonString(), h.RoomId);
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/p7", last)).Status);
        Assert.Equal(calls, h.Sink.Calls);
    }

    [Fact]
    public async Task User_and_alias_queries_answer_on_both_path_styles_and_ping_needs_the_token()
    {
        await using var h = await BridgeHarness.StartAsync();
        async Task<int> Get(string path, string? bearer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(h.Connector.ListenUrl!, path));
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            using var response = await h.Http.SendAsync(request);
            return (int)response.StatusCode;
        }

        Assert.Equal(404, await Get("/_matrix/app/v1/users/%40_bridge_unknown%3Alocalhost", BridgeHarness.HsToken));
        Assert.Equal(404, await Get($"/users/%40_bridge_unknown%3Alocalhost?access_token={BridgeHarness.HsToken}", null));
        Assert.Equal(404, await Get("/_matrix/app/v1/rooms/%23_bridge_x%3Alocalhost", BridgeHarness.HsToken));
        Assert.Equal(403, await Get("/_matrix/app/v1/users/%40x%3Alocalhost", "wrong"));
        Assert.Equal(401, await Get("/rooms/%23x%3Alocalhost", null));

        using var ping = new HttpRequestMessage(HttpMethod.Post, new Uri(h.Connector.ListenUrl!, "/_matrix/app/v1/ping"))
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        using var pingResponse = await h.Http.SendAsync(ping);
        Assert.Equal(401, (int)pingResponse.StatusCode);
    }

    [Fact]
    public async Task Text_emote_and_notice_keep_their_meaning_and_html_is_sanitised()
    {
        await using var h = await BridgeHarness.StartAsync();
        var rich = Message("$rich", "bold", "m.text");
        rich["content"]!["format"] = "org.matrix.custom.html";
        rich["content"]!["formatted_body"] = "<b>bold</b><script>alert(1)</script><a href=\"javascript:alert(1)\">x</a><img src=\"http://evil/x.png\">";
        var txn = new JsonObject
        {
            ["events"] = new JsonArray(Message("$t", "plain"), Message("$e", "waves", "m.emote"), Message("$n", "beep", "m.notice"), rich),
        };
        Assert.Equal(200, (await h.PutTransactionAsync("/_matrix/app/v1/transactions/k1", InRoom(txn.ToJsonString(), h.RoomId))).Status);
        var events = h.Sink.Accepted.ToDictionary(e => e.NativeId);
        Assert.Equal(MessageKind.Text, events["$t"].MessageKind);
        Assert.Equal(MessageKind.Emote, events["$e"].MessageKind);
        Assert.Equal(MessageKind.Notice, events["$n"].MessageKind);
        Assert.Equal(BridgeHarness.Channel, events["$t"].ChannelId);
        var html = events["$rich"].Html!;
        Assert.Contains("<b>bold</b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("javascript", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://evil", html, StringComparison.Ordinal);
    }
}
