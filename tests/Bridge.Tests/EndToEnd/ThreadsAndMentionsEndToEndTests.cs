using System.Text.Json.Nodes;
using Bridge.Testing;
using Sandbox.Mattermost.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Threads and mentions across the real networks (docs/formatting.md, Mentions and Threads): a thread started on
/// Mattermost continues on Matrix and back; a mention of a person arrives as a mention of the same person, of their
/// puppet or of their own account; channel-wide mentions stay neutralised.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ThreadsAndMentionsEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    [Fact]
    public async Task A_Mattermost_thread_continues_on_Matrix_and_back_and_mentions_name_the_same_people()
    {
        await using var net = await ThreeNetworks.StartAsync();
        var bridge = await net.StartBridgeAsync();

        // Threads: Carol starts one on Mattermost, with the official client (Client4) as the webapp would.
        await using var carol = await NodeMattermostClient.StartAsync(net.Mm.BaseUrl);
        await carol.LoginAsync("carol", "Passw0rd!");
        var rootId = (await carol.CreatePostAsync(net.MmChannel, "thr-root"))!["id"]!.GetValue<string>();
        var root = net.Mm.GetPosts(net.MmChannel).Single(p => p.Id == rootId);
        await carol.CreatePostAsync(net.MmChannel, "thr-1 first answer", rootId: root.Id);
        JsonObject? Matrix(string prefix) => net.Hs.GetMessages(net.MatrixRoom)
            .FirstOrDefault(e => (e["content"] as JsonObject)?["body"]?.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal) == true);
        await ThreeNetworks.WaitUntilAsync(() => Matrix("thr-root") is not null && Matrix("thr-1") is not null, Long, "the thread on Matrix");
        var matrixRoot = Matrix("thr-root")!["event_id"]!.GetValue<string>();
        var matrixFirst = Matrix("thr-1")!;
        var relates = matrixFirst["content"]!["m.relates_to"]!;
        Assert.Equal(("m.thread", matrixRoot, true, matrixRoot), (relates["rel_type"]!.GetValue<string>(), relates["event_id"]!.GetValue<string>(),
            relates["is_falling_back"]!.GetValue<bool>(), relates["m.in_reply_to"]!["event_id"]!.GetValue<string>()));

        // Bob answers in the thread on Matrix (as Element does: the fallback names the thread's newest event) ...
        net.Hs.SendEvent(net.MatrixRoom, net.Bob!.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "thr-2 from matrix",
            ["m.relates_to"] = new JsonObject
            {
                ["rel_type"] = "m.thread", ["event_id"] = matrixRoot, ["is_falling_back"] = true,
                ["m.in_reply_to"] = new JsonObject { ["event_id"] = matrixFirst["event_id"]!.GetValue<string>() },
            },
        });
        // ... and with a plain rich reply to the root, which Mattermost can only show in the thread.
        net.Hs.SendEvent(net.MatrixRoom, net.Bob.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "thr-3 a plain reply",
            ["m.relates_to"] = new JsonObject { ["m.in_reply_to"] = new JsonObject { ["event_id"] = matrixRoot } },
        });
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("thr-2").Count == 1 && net.MattermostPosts("thr-3").Count == 1, Long, "Bob's answers on Mattermost");
        Assert.Equal(root.Id, net.MattermostPosts("thr-2")[0].RootId);
        Assert.Equal(root.Id, net.MattermostPosts("thr-3")[0].RootId);
        // The official client shows them in Carol's thread.
        var thread = await carol.Client4Async("getPostThread", [root.Id]);
        var inThread = thread!["posts"]!.AsObject().Select(p => p.Value!["message"]!.GetValue<string>()).ToList();
        Assert.Contains("thr-2 from matrix", inThread);
        Assert.Contains("thr-3 a plain reply", inThread);

        // Carol answers again on Mattermost: on Matrix it stays in the thread, its fallback following the newest event.
        await carol.CreatePostAsync(net.MmChannel, "thr-4 back on mattermost", rootId: root.Id);
        await ThreeNetworks.WaitUntilAsync(() => Matrix("thr-4") is not null, Long, "thr-4 on Matrix");
        Assert.Equal(matrixRoot, Matrix("thr-4")!["content"]!["m.relates_to"]!["event_id"]!.GetValue<string>());
        Assert.Equal(Matrix("thr-2")!["event_id"]!.GetValue<string>(), Matrix("thr-4")!["content"]!["m.relates_to"]!["m.in_reply_to"]!["event_id"]!.GetValue<string>());

        // Mentions. Bob has spoken, so he has a puppet on Mattermost; Carol has one on Matrix.
        var bobPuppet = net.Mm.GetUser(net.MattermostPosts("thr-2")[0].UserId);
        var carolPuppet = Matrix("thr-root")!["sender"]!.GetValue<string>();
        await carol.CreatePostAsync(net.MmChannel, $"men-1 thanks @{bobPuppet.Username}, and @here too");
        net.Hs.SendEvent(net.MatrixRoom, net.Bob.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "men-2 Carol: see @room",
            ["format"] = "org.matrix.custom.html",
            ["formatted_body"] = $"men-2 <a href=\"https://matrix.to/#/{carolPuppet}\">Carol</a>: see @room",
            ["m.mentions"] = new JsonObject { ["user_ids"] = new JsonArray(carolPuppet) },
        });

        await ThreeNetworks.WaitUntilAsync(() => Matrix("men-1") is not null, Long, "Carol's mention on Matrix");
        var men1 = Matrix("men-1")!["content"]!;
        Assert.Contains($"<a href=\"https://matrix.to/#/{net.Bob.UserId}\">@{bobPuppet.Username}</a>", men1["formatted_body"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal([net.Bob.UserId], men1["m.mentions"]!["user_ids"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Null(men1["m.mentions"]!["room"]); // @here notifies no one on Matrix

        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("men-2").Count == 1, Long, "Bob's mention on Mattermost");
        var men2 = net.MattermostPosts("men-2")[0].Message;
        Assert.StartsWith($"men-2 @{net.Carol!.Username}: see ", men2, StringComparison.Ordinal);
        _ = bridge;
    }

    [Fact]
    public async Task XMPP_sees_the_thread_id_answers_in_the_thread_and_mentions_cross_with_references()
    {
        await using var net = await ThreeNetworks.StartAsync();
        var bridge = await net.StartBridgeAsync();
        var alice = await net.AliceAsync();

        var root = net.CarolSays("x-root");
        net.Mm.Post(net.Carol!.Id, net.MmChannel, "x-1 in the thread", rootId: root.Id);
        var seen = await alice.WaitForAsync(ms => ms.Any(m => m.Body == "x-root") && ms.Any(m => m.Body == "x-1 in the thread"), Long, "the thread on XMPP");
        var xmppRoot = seen.First(m => m.Body == "x-root");
        var xmppFirst = seen.First(m => m.Body == "x-1 in the thread");
        Assert.Equal((xmppRoot.StanzaId, xmppRoot.StanzaId), (xmppFirst.Thread, xmppFirst.ReplyId));
        Assert.Null(xmppRoot.Thread);
        var carolNick = xmppRoot.FromNick;

        // Alice answers in the thread, as a client that copies the thread id does.
        await alice.SayAsync("x-2 from xmpp", thread: xmppFirst.Thread, replyTo: xmppRoot.StanzaId);
        JsonObject? Matrix(string prefix) => net.Hs.GetMessages(net.MatrixRoom)
            .FirstOrDefault(e => (e["content"] as JsonObject)?["body"]?.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal) == true);
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("x-2").Count == 1 && Matrix("x-2") is not null, Long, "Alice's answer on Mattermost and Matrix");
        Assert.Equal(root.Id, net.MattermostPosts("x-2")[0].RootId);
        var matrixRoot = Matrix("x-root")!["event_id"]!.GetValue<string>();
        Assert.Equal(("m.thread", matrixRoot), (Matrix("x-2")!["content"]!["m.relates_to"]!["rel_type"]!.GetValue<string>(),
            Matrix("x-2")!["content"]!["m.relates_to"]!["event_id"]!.GetValue<string>()));

        // Mentions of Alice (her puppets) from Mattermost and Matrix reach her as her nick with a reference.
        var alicePuppetMm = net.Mm.GetUser(net.MattermostPosts("x-2")[0].UserId);
        var alicePuppetMatrix = Matrix("x-2")!["sender"]!.GetValue<string>();
        net.CarolSays($"x-men-1 hi @{alicePuppetMm.Username} and @channel");
        net.Hs.SendEvent(net.MatrixRoom, net.Bob!.UserId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.text",
            ["body"] = "x-men-2 Alice!",
            ["format"] = "org.matrix.custom.html",
            ["formatted_body"] = $"x-men-2 <a href=\"https://matrix.to/#/{alicePuppetMatrix}\">Alice</a>!",
            ["m.mentions"] = new JsonObject { ["user_ids"] = new JsonArray(alicePuppetMatrix) },
        });
        var mentioned = await alice.WaitForAsync(ms => ms.Any(m => m.Body.StartsWith("x-men-1", StringComparison.Ordinal)) && ms.Any(m => m.Body.StartsWith("x-men-2", StringComparison.Ordinal)),
            Long, "the mentions on XMPP");
        var fromMm = mentioned.First(m => m.Body.StartsWith("x-men-1", StringComparison.Ordinal));
        Assert.Equal("x-men-1 hi Alice and @\u2060channel", fromMm.Body); // @channel stays neutralised
        Assert.Equal([new ReceivedReference("mention", $"xmpp:{net.XmppRoom}/Alice", "11", "16")], fromMm.References);
        var fromMatrix = mentioned.First(m => m.Body.StartsWith("x-men-2", StringComparison.Ordinal));
        Assert.Equal([new ReceivedReference("mention", $"xmpp:{net.XmppRoom}/Alice", "8", "13")], fromMatrix.References);

        // Alice mentions Carol's puppet with a reference: Mattermost shows @carol, Matrix a pill of Carol's puppet there.
        var body = $"x-men-3 {carolNick}: thanks";
        await alice.SayAsync(body, thread: null, replyTo: null, [($"xmpp:{net.XmppRoom}/{carolNick}", 8, 8 + carolNick.Length)]);
        await ThreeNetworks.WaitUntilAsync(() => net.MattermostPosts("x-men-3").Count == 1 && Matrix("x-men-3") is not null, Long, "Alice's mention");
        Assert.Equal($"x-men-3 @{net.Carol.Username}: thanks", net.MattermostPosts("x-men-3")[0].Message);
        var carolOnMatrix = Matrix("x-root")!["sender"]!.GetValue<string>();
        Assert.Equal([carolOnMatrix], Matrix("x-men-3")!["content"]!["m.mentions"]!["user_ids"]!.AsArray().Select(n => n!.GetValue<string>()));
        _ = bridge;
    }
}
