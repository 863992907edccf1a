using System.Net;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Tests;

/// <summary>root_id as the real server checks it on POST /posts: an existing, live root in the same channel.</summary>
public sealed class ThreadRootTests
{
    [Fact]
    public async Task A_root_in_another_channel_an_unknown_root_and_a_reply_as_root_are_400_with_the_servers_error_ids()
    {
        await using var s = await TestServer.StartAsync();
        var other = s.Sandbox.CreateChannel(s.Seed.Team.Id, "other", "Other");
        s.Sandbox.AddToChannel(other.Id, s.Seed.Admin.Id);
        var elsewhere = s.Sandbox.Post(s.Seed.Admin.Id, other.Id, "root elsewhere");
        var root = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "root here");
        var reply = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "reply", rootId: root.Id);

        async Task<(HttpStatusCode, string?)> PostUnder(string rootId)
        {
            var (response, body) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
                new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = "x", ["root_id"] = rootId });
            return (response.StatusCode, body?["id"]?.GetValue<string>());
        }

        Assert.Equal((HttpStatusCode.BadRequest, "api.post.create_post.channel_root_id.app_error"), await PostUnder(elsewhere.Id));
        Assert.Equal((HttpStatusCode.BadRequest, "api.post.create_post.root_id.app_error"), await PostUnder("nosuchpost0000000000000000"));
        Assert.Equal((HttpStatusCode.BadRequest, "api.post.create_post.root_id.app_error"), await PostUnder(reply.Id));
        Assert.Equal(HttpStatusCode.Created, (await PostUnder(root.Id)).Item1);
    }

    [Fact]
    public async Task The_thread_of_a_reply_is_its_roots_thread_newest_first_without_deleted_posts()
    {
        await using var s = await TestServer.StartAsync();
        var root = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "root");
        var first = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "first", rootId: root.Id);
        var gone = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "gone", rootId: root.Id);
        s.Sandbox.DeletePost(s.Seed.Admin.Id, gone.Id);
        s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "elsewhere in the channel");

        var (response, body) = await s.SendAsync(HttpMethod.Get, $"/api/v4/posts/{first.Id}/thread", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([first.Id, root.Id], body!["order"]!.AsArray().Select(n => n!.GetValue<string>()));
        var (missing, missingBody) = await s.SendAsync(HttpMethod.Get, $"/api/v4/posts/{gone.Id}/thread", s.Seed.AdminToken);
        Assert.Equal((HttpStatusCode.NotFound, "app.post.get.app_error"), (missing.StatusCode, missingBody?["id"]?.GetValue<string>()));
    }
}
