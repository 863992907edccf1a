using System.Text.Json.Nodes;
using Sandbox.Mattermost.Testing;

namespace Sandbox.Mattermost.Tests;

/// <summary>The official @mattermost/client, as a normal user, against the sandbox.</summary>
public sealed class NodeClientTests
{
    [Fact]
    public async Task Official_client_logs_in_posts_reacts_and_listens()
    {
        await using var s = await TestServer.StartAsync();
        var (erin, _) = s.AddMember("erin");
        await using var node = await NodeMattermostClient.StartAsync(s.Sandbox.BaseUrl);

        var login = await node.LoginAsync("erin", "Passw0rd!");
        Assert.Equal(erin.Id, login!["user"].Str("id"));
        var me = await node.Client4Async("getMe", []);
        Assert.Equal("erin", me.Str("username")); // an object, not a string: the content type was exact

        var channel = await node.Client4Async("getChannelByNameAndTeamName", ["demo", "town-square"]);
        Assert.Equal(s.Seed.Channel.Id, channel.Str("id"));

        var hello = await node.ConnectWebSocketAsync();
        Assert.Equal(0, hello!["seq"]!.GetValue<long>());

        var post = await node.CreatePostAsync(s.Seed.Channel.Id, "from the official client", props: new JsonObject { ["k"] = "v" });
        var postId = post.Str("id");
        Assert.Equal(26, postId.Length);
        var posted = await node.WaitEventAsync("posted", message: "from the official client");
        Assert.Equal("string", posted!["data"].Str("post_raw_type"));

        var reaction = await node.AddReactionAsync(postId, "thumbsup");
        Assert.Equal("thumbsup", reaction.Str("emoji_name"));
        await node.WaitEventAsync("reaction_added", postId: postId);

        // Someone else posts; the client's seq check must be happy (no missed-message resync).
        s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "from admin");
        await node.WaitEventAsync("posted", message: "from admin");
        var status = await node.WebSocketStatusAsync();
        Assert.Equal(1, status!["hello_count"]!.GetValue<int>());
        Assert.Equal(0, status["missed_count"]!.GetValue<int>());

        // Errors map to ClientError with the server error id.
        var err = await Assert.ThrowsAsync<NodeClientException>(() => node.Client4Async("getUserByUsername", ["nobody-here"]));
        Assert.Equal(404, err.StatusCode);
        Assert.Equal("app.user.get_by_username.app_error", err.ServerErrorId);
        Assert.Single(s.Sandbox.GetPosts(s.Seed.Channel.Id), p => p.Message == "from the official client" && p.UserId == erin.Id && p.Props.Str("k") == "v");
    }

    [Fact]
    public async Task Official_client_resumes_after_a_drop_and_resyncs_when_it_cannot()
    {
        await using var s = await TestServer.StartAsync();
        s.AddMember("frank");
        await using var node = await NodeMattermostClient.StartAsync(s.Sandbox.BaseUrl);
        await node.LoginAsync("frank", "Passw0rd!");
        await node.ConnectWebSocketAsync();

        s.Sandbox.DropWebSockets(keepResumeQueue: true);
        s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "while away");
        await node.WaitEventAsync("posted", message: "while away", timeoutMs: 15000);
        var resumed = await node.WebSocketStatusAsync();
        Assert.Equal(1, resumed!["hello_count"]!.GetValue<int>());
        Assert.Equal(0, resumed["missed_count"]!.GetValue<int>());

        s.Sandbox.DropWebSockets(keepResumeQueue: false);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        JsonNode? status;
        do
        {
            await Task.Delay(200);
            status = await node.WebSocketStatusAsync();
        }
        while (status!["hello_count"]!.GetValue<int>() < 2 && DateTime.UtcNow < deadline);
        Assert.Equal(2, status["hello_count"]!.GetValue<int>());
        Assert.Equal(1, status["missed_count"]!.GetValue<int>()); // the client noticed it must resync over REST
    }
}
