using System.Text.Json.Nodes;

namespace Sandbox.Matrix.Tests;

/// <summary>m.thread relations are accepted, returned unchanged, and refused where Synapse refuses them.</summary>
public sealed class ThreadTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task A_thread_under_a_plain_message_is_accepted_and_one_under_a_relation_or_elsewhere_is_refused_like_synapse()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var room = h.Sandbox.CreateRoom(alice.UserId, name: "R");
        var other = h.Sandbox.CreateRoom(alice.UserId, name: "Other");
        var root = (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/m1", alice.AccessToken,
            """{"msgtype":"m.text","body":"root"}""")).Body.Str("event_id");
        string InThread(string rootId, string body) => new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = body,
            ["m.relates_to"] = new JsonObject
            {
                ["rel_type"] = "m.thread", ["event_id"] = rootId, ["is_falling_back"] = true,
                ["m.in_reply_to"] = new JsonObject { ["event_id"] = rootId },
            },
        }.ToJsonString();

        var first = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/t1", alice.AccessToken, InThread(root!, "in thread"));
        Assert.Equal(200, first.Status);
        var stored = h.Sandbox.GetTimeline(room).Single(e => e["event_id"]!.GetValue<string>() == first.Body.Str("event_id"));
        Assert.Equal("m.thread", stored["content"]!["m.relates_to"]!["rel_type"]!.GetValue<string>());
        Assert.Equal(root, stored["content"]!["m.relates_to"]!["event_id"]!.GetValue<string>());

        var underThreadMessage = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/t2", alice.AccessToken,
            InThread(first.Body.Str("event_id")!, "nested"));
        Assert.Equal((400, "M_UNKNOWN"), (underThreadMessage.Status, underThreadMessage.Body.Str("errcode")));
        var unknown = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/t3", alice.AccessToken, InThread("$nope:localhost", "x"));
        Assert.Equal((400, "M_UNKNOWN"), (unknown.Status, unknown.Body.Str("errcode")));
        var elsewhere = await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{other}/send/m.room.message/t4", alice.AccessToken, InThread(root!, "x"));
        Assert.Equal((400, "M_UNKNOWN"), (elsewhere.Status, elsewhere.Body.Str("errcode")));
    }

    [Fact]
    public async Task A_thread_root_comes_with_its_thread_summary_as_synapse_bundles_it()
    {
        await using var h = await SandboxHarness.StartAsync();
        var alice = h.Sandbox.CreateUser("alice");
        var bob = h.Sandbox.CreateUser("bob");
        var room = h.Sandbox.CreateRoom(alice.UserId, name: "R", isPublic: true);
        Assert.Equal(200, (await h.CallAsync(HttpMethod.Post, $"{V3}/join/{room}", bob.AccessToken, "{}")).Status);
        var root = (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/m1", alice.AccessToken,
            """{"msgtype":"m.text","body":"root"}""")).Body.Str("event_id")!;
        string InThread(string body) => new JsonObject
        {
            ["msgtype"] = "m.text", ["body"] = body,
            ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.thread", ["event_id"] = root, ["is_falling_back"] = true, ["m.in_reply_to"] = new JsonObject { ["event_id"] = root } },
        }.ToJsonString();
        await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/t1", alice.AccessToken, InThread("one"));
        var latest = (await h.CallAsync(HttpMethod.Put, $"{V3}/rooms/{room}/send/m.room.message/t2", alice.AccessToken, InThread("two"))).Body.Str("event_id");

        var asBob = await h.CallAsync(HttpMethod.Get, $"{V3}/rooms/{room}/event/{Uri.EscapeDataString(root)}", bob.AccessToken);
        var summary = asBob.Body!["unsigned"]!["m.relations"]!["m.thread"]!;
        Assert.Equal((2, false, latest), (summary["count"]!.GetValue<int>(), summary["current_user_participated"]!.GetValue<bool>(),
            summary["latest_event"]!["event_id"]!.GetValue<string>()));
        var asAlice = await h.CallAsync(HttpMethod.Get, $"{V3}/rooms/{room}/event/{Uri.EscapeDataString(root)}", alice.AccessToken);
        Assert.True(asAlice.Body!["unsigned"]!["m.relations"]!["m.thread"]!["current_user_participated"]!.GetValue<bool>());
    }
}
