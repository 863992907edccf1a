using System.Net;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Tests;

/// <summary>
/// Membership rules a real server enforces and a bridge must respect: only channel members (or system admins) post, and
/// nobody but a guest leaves a team's town-square.
/// </summary>
public sealed class MembershipStrictnessTests
{
    [Fact]
    public async Task A_team_member_outside_a_public_channel_cannot_post_there_until_it_joins()
    {
        await using var s = await TestServer.StartAsync();
        var ops = s.Sandbox.CreateChannel(s.Seed.Team.Id, "ops", "Ops");
        var user = s.Sandbox.CreateUser("erin");
        s.Sandbox.AddToTeam(s.Seed.Team.Id, user.Id);
        var token = s.Sandbox.CreateAccessToken(user.Id);
        var post = new JsonObject { ["channel_id"] = ops.Id, ["message"] = "hello" };

        var (refused, refusedBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", token, post.DeepClone());
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("api.context.permissions.app_error", refusedBody.Str("id"));
        Assert.DoesNotContain(s.Sandbox.GetPosts(ops.Id), p => p.Message == "hello");

        // It may read the public channel, and join it itself; then it may post.
        var (read, _) = await s.SendAsync(HttpMethod.Get, $"/api/v4/channels/{ops.Id}", token);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var (joined, _) = await s.SendAsync(HttpMethod.Post, $"/api/v4/channels/{ops.Id}/members", token, new JsonObject { ["user_id"] = user.Id });
        Assert.Equal(HttpStatusCode.Created, joined.StatusCode);
        var (posted, _) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", token, post.DeepClone());
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);

        // Left again: refused again.
        var (left, _) = await s.SendAsync(HttpMethod.Delete, $"/api/v4/channels/{ops.Id}/members/{user.Id}", token);
        Assert.Equal(HttpStatusCode.OK, left.StatusCode);
        var (again, againBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", token, post.DeepClone());
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        Assert.Equal("api.context.permissions.app_error", againBody.Str("id"));
    }

    [Fact]
    public async Task A_system_admin_posts_without_being_a_member()
    {
        await using var s = await TestServer.StartAsync();
        var ops = s.Sandbox.CreateChannel(s.Seed.Team.Id, "ops", "Ops");
        Assert.False(s.Sandbox.IsChannelMember(ops.Id, s.Seed.Admin.Id));
        var (posted, _) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken, new JsonObject { ["channel_id"] = ops.Id, ["message"] = "admin" });
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
    }

    [Fact]
    public async Task Nobody_but_a_guest_leaves_town_square()
    {
        await using var s = await TestServer.StartAsync();
        var townSquare = s.Sandbox.FindChannel(s.Seed.Team.Name, "town-square")!;
        var (user, token) = s.AddMember("frank");
        s.Sandbox.AddToChannel(townSquare.Id, user.Id);

        var (self, selfBody) = await s.SendAsync(HttpMethod.Delete, $"/api/v4/channels/{townSquare.Id}/members/{user.Id}", token);
        Assert.Equal(HttpStatusCode.BadRequest, self.StatusCode);
        Assert.Equal("api.channel.remove.default.app_error", selfBody.Str("id"));
        var (byAdmin, byAdminBody) = await s.SendAsync(HttpMethod.Delete, $"/api/v4/channels/{townSquare.Id}/members/{user.Id}", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, byAdmin.StatusCode);
        Assert.Equal("api.channel.remove.default.app_error", byAdminBody.Str("id"));
        Assert.True(s.Sandbox.IsChannelMember(townSquare.Id, user.Id));

        // A guest may be taken out of it (the server's one exception).
        s.Sandbox.Settings.EnableGuestAccounts = true;
        var guest = s.Sandbox.CreateUser("gina");
        s.Sandbox.AddToTeam(s.Seed.Team.Id, guest.Id);
        s.Sandbox.AddToChannel(townSquare.Id, guest.Id);
        var (demoted, _) = await s.SendAsync(HttpMethod.Post, $"/api/v4/users/{guest.Id}/demote", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, demoted.StatusCode);
        var (guestOut, _) = await s.SendAsync(HttpMethod.Delete, $"/api/v4/channels/{townSquare.Id}/members/{guest.Id}", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, guestOut.StatusCode);
        Assert.False(s.Sandbox.IsChannelMember(townSquare.Id, guest.Id));

        // Another channel is left as usual.
        var ops = s.Sandbox.CreateChannel(s.Seed.Team.Id, "ops", "Ops");
        s.Sandbox.AddToChannel(ops.Id, user.Id);
        var (leftOps, _) = await s.SendAsync(HttpMethod.Delete, $"/api/v4/channels/{ops.Id}/members/{user.Id}", token);
        Assert.Equal(HttpStatusCode.OK, leftOps.StatusCode);
    }
}
