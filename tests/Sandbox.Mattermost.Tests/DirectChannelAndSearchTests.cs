using System.Net;
using System.Text.Json.Nodes;

namespace Sandbox.Mattermost.Tests;

/// <summary>
/// The endpoints a bridge needs for direct messages, channels made at run time and finding people, held to the real
/// server's rules (api4/channel.go createDirectChannel and createChannel, api4/user.go autocompleteUsers, PUT /posts).
/// </summary>
public sealed class DirectChannelAndSearchTests
{
    [Fact]
    public async Task A_direct_channel_is_made_once_for_two_people_and_only_they_post_in_it()
    {
        await using var s = await TestServer.StartAsync();
        var (erin, erinToken) = s.AddMember("erin");
        var (fred, fredToken) = s.AddMember("fred");
        var (gail, gailToken) = s.AddMember("gail");

        var (made, dm) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", erinToken, new JsonArray(erin.Id, fred.Id));
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        Assert.Equal("D", dm.Str("type"));
        Assert.Equal("", dm.Str("team_id"));
        Assert.Equal(string.CompareOrdinal(erin.Id, fred.Id) < 0 ? $"{erin.Id}__{fred.Id}" : $"{fred.Id}__{erin.Id}", dm.Str("name"));

        // Asked again (either order, by the other person): the same channel.
        var (again, sameDm) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", fredToken, new JsonArray(fred.Id, erin.Id));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(dm.Str("id"), sameDm.Str("id"));

        // The two post; a third person can neither read nor post, nor make a DM of two others.
        var post = new JsonObject { ["channel_id"] = dm.Str("id"), ["message"] = "just us" };
        Assert.Equal(HttpStatusCode.Created, (await s.SendAsync(HttpMethod.Post, "/api/v4/posts", fredToken, post.DeepClone())).Response.StatusCode);
        var (intruder, intruderBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", gailToken, post.DeepClone());
        Assert.Equal(HttpStatusCode.Forbidden, intruder.StatusCode);
        Assert.Equal("api.context.permissions.app_error", intruderBody.Str("id"));
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(HttpMethod.Get, $"/api/v4/channels/{dm.Str("id")}", gailToken)).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", gailToken, new JsonArray(erin.Id, fred.Id))).Response.StatusCode);

        // A system admin may make a DM of two others.
        var (byAdmin, adminDm) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", s.Seed.AdminToken, new JsonArray(gail.Id, fred.Id));
        Assert.Equal(HttpStatusCode.Created, byAdmin.StatusCode);
        Assert.True(s.Sandbox.IsChannelMember(adminDm.Str("id"), gail.Id));
        Assert.False(s.Sandbox.IsChannelMember(adminDm.Str("id"), s.Seed.Admin.Id));
    }

    [Fact]
    public async Task Malformed_direct_channel_requests_are_refused_with_the_servers_ids()
    {
        await using var s = await TestServer.StartAsync();
        var (erin, erinToken) = s.AddMember("erin");
        var (three, threeBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", erinToken, new JsonArray(erin.Id, s.Seed.Admin.Id, "a"));
        Assert.Equal((HttpStatusCode.BadRequest, "api.context.invalid_param.app_error"), (three.StatusCode, threeBody.Str("id")));
        var (badId, badIdBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", erinToken, new JsonArray(erin.Id, "not-an-id"));
        Assert.Equal((HttpStatusCode.BadRequest, "api.context.invalid_param.app_error"), (badId.StatusCode, badIdBody.Str("id")));
        var (notArray, notArrayBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", erinToken, new JsonObject { ["user_ids"] = "x" });
        Assert.Equal((HttpStatusCode.BadRequest, "api.payload.parse.error"), (notArray.StatusCode, notArrayBody.Str("id")));
        var (nobody, nobodyBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", erinToken, new JsonArray(erin.Id, "abcdefghijklmnopqrstuvwxyz"));
        Assert.Equal((HttpStatusCode.BadRequest, "api.channel.create_direct_channel.invalid_user.app_error"), (nobody.StatusCode, nobodyBody.Str("id")));

        // A DM with oneself is allowed with one id.
        var (self, selfDm) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", erinToken, new JsonArray(erin.Id));
        Assert.Equal(HttpStatusCode.Created, self.StatusCode);
        Assert.Equal($"{erin.Id}__{erin.Id}", selfDm.Str("name"));
    }

    [Fact]
    public async Task A_guest_sees_and_reaches_only_people_it_shares_a_channel_with()
    {
        await using var s = await TestServer.StartAsync();
        s.Sandbox.Settings.EnableGuestAccounts = true;
        var (guest, guestToken) = s.AddMember("gina");
        var (colleague, _) = s.AddMember("carl");
        var (stranger, _) = s.AddMember("stan");
        var ops = s.Sandbox.CreateChannel(s.Seed.Team.Id, "ops", "Ops");
        s.Sandbox.AddToChannel(ops.Id, guest.Id);
        s.Sandbox.AddToChannel(ops.Id, colleague.Id);
        Assert.Equal(HttpStatusCode.OK, (await s.SendAsync(HttpMethod.Post, $"/api/v4/users/{guest.Id}/demote", s.Seed.AdminToken)).Response.StatusCode);
        var townSquare = s.Sandbox.FindChannel(s.Seed.Team.Name, "town-square")!;
        s.Sandbox.RemoveFromChannel(townSquare.Id, guest.Id);

        Assert.Equal(HttpStatusCode.OK, (await s.SendAsync(HttpMethod.Get, $"/api/v4/users/{colleague.Id}", guestToken)).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(HttpMethod.Get, $"/api/v4/users/{stranger.Id}", guestToken)).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(HttpMethod.Get, "/api/v4/users/username/stan", guestToken)).Response.StatusCode);
        var (_, byNames) = await s.SendAsync(HttpMethod.Post, "/api/v4/users/usernames", guestToken, new JsonArray("carl", "stan"));
        Assert.Equal(["carl"], byNames!.AsArray().Select(u => u.Str("username")));
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", guestToken, new JsonArray(guest.Id, stranger.Id))).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await s.SendAsync(HttpMethod.Post, "/api/v4/channels/direct", guestToken, new JsonArray(guest.Id, colleague.Id))).Response.StatusCode);
        var (_, found) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/autocomplete?name=", guestToken);
        Assert.DoesNotContain(found!["users"]!.AsArray(), u => u.Str("username") == "stan");
        Assert.Contains(found["users"]!.AsArray(), u => u.Str("username") == "carl");

        // A guest cannot make channels either.
        var (made, _) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels", guestToken,
            new JsonObject { ["team_id"] = s.Seed.Team.Id, ["name"] = "guest-room", ["display_name"] = "Guest room", ["type"] = "O" });
        Assert.Equal(HttpStatusCode.Forbidden, made.StatusCode);
    }

    [Fact]
    public async Task Channels_made_over_the_api_follow_the_servers_rules()
    {
        await using var s = await TestServer.StartAsync();
        var (erin, erinToken) = s.AddMember("erin");
        var body = new JsonObject { ["team_id"] = s.Seed.Team.Id, ["name"] = "field-ops", ["display_name"] = "Field ops", ["type"] = "P" };
        var (made, channel) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels", erinToken, body.DeepClone());
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        Assert.Equal(("P", "field-ops"), (channel.Str("type"), channel.Str("name")));
        Assert.True(s.Sandbox.IsChannelMember(channel.Str("id"), erin.Id));

        var (twice, twiceBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/channels", erinToken, body.DeepClone());
        Assert.Equal((HttpStatusCode.BadRequest, "store.sql_channel.save_channel.exists.app_error"), (twice.StatusCode, twiceBody.Str("id")));
        var bad = (JsonObject)body.DeepClone();
        bad["name"] = "Field Ops";
        Assert.Equal("model.channel.is_valid.name.app_error", (await s.SendAsync(HttpMethod.Post, "/api/v4/channels", erinToken, bad)).Body.Str("id"));
        var noTeam = (JsonObject)body.DeepClone();
        noTeam.Remove("team_id");
        Assert.Equal(HttpStatusCode.BadRequest, (await s.SendAsync(HttpMethod.Post, "/api/v4/channels", erinToken, noTeam)).Response.StatusCode);
        var direct = (JsonObject)body.DeepClone();
        direct["type"] = "D";
        Assert.Equal("model.channel.is_valid.type.app_error", (await s.SendAsync(HttpMethod.Post, "/api/v4/channels", erinToken, direct)).Body.Str("id"));

        // Someone outside the team may not make a channel in it.
        var outsider = s.Sandbox.CreateUser("otto");
        var outsiderToken = s.Sandbox.CreateAccessToken(outsider.Id);
        var other = (JsonObject)body.DeepClone();
        other["name"] = "other";
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(HttpMethod.Post, "/api/v4/channels", outsiderToken, other)).Response.StatusCode);
    }

    [Fact]
    public async Task Autocomplete_is_routed_apart_from_user_ids_and_splits_channel_members_from_the_rest_of_the_team()
    {
        await using var s = await TestServer.StartAsync();
        var (_, token) = s.AddMember("alina");
        var (alex, _) = s.AddMember("alex");
        s.AddMember("bruno");
        var ops = s.Sandbox.CreateChannel(s.Seed.Team.Id, "ops", "Ops");
        s.Sandbox.AddToChannel(ops.Id, alex.Id);
        var (ok, found) = await s.SendAsync(HttpMethod.Get, $"/api/v4/users/autocomplete?in_team={s.Seed.Team.Id}&in_channel={ops.Id}&name=al", token);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(["alex"], found!["users"]!.AsArray().Select(u => u.Str("username")));
        Assert.Equal(["alina"], found["out_of_channel"]!.AsArray().Select(u => u.Str("username")));
        var (_, team) = await s.SendAsync(HttpMethod.Get, $"/api/v4/users/autocomplete?in_team={s.Seed.Team.Id}&name=b", token);
        Assert.Equal(["bruno"], team!["users"]!.AsArray().Select(u => u.Str("username")));
        Assert.Null(team["out_of_channel"]);
        var (badTeam, _) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/autocomplete?in_team=nope", token);
        Assert.Equal(HttpStatusCode.BadRequest, badTeam.StatusCode);
    }

    [Fact]
    public async Task Put_replaces_the_whole_post_and_paging_goes_before_and_after_a_post()
    {
        await using var s = await TestServer.StartAsync();
        var (erin, erinToken) = s.AddMember("erin");
        var (_, fredToken) = s.AddMember("fred");
        var channel = s.Seed.Channel.Id;
        s.Sandbox.AddToChannel(channel, erin.Id);
        var ids = Enumerable.Range(0, 5).Select(i => s.Sandbox.Post(erin.Id, channel, $"m{i}", props: new JsonObject { ["keep"] = "x" }).Id).ToList();

        var (mismatch, _) = await s.SendAsync(HttpMethod.Put, $"/api/v4/posts/{ids[0]}", erinToken, new JsonObject { ["id"] = ids[1], ["message"] = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(HttpMethod.Put, $"/api/v4/posts/{ids[0]}", fredToken, new JsonObject { ["id"] = ids[0], ["message"] = "x" })).Response.StatusCode);
        var (put, updated) = await s.SendAsync(HttpMethod.Put, $"/api/v4/posts/{ids[0]}", erinToken, new JsonObject { ["id"] = ids[0], ["message"] = "m0 fixed" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("m0 fixed", updated.Str("message"));
        Assert.NotEqual(0, updated!["edit_at"]!.GetValue<long>());
        Assert.Null(updated["props"]?["keep"]); // omitted fields become blank: the props are gone

        var (_, before) = await s.SendAsync(HttpMethod.Get, $"/api/v4/channels/{channel}/posts?before={ids[3]}&per_page=2", erinToken);
        Assert.Equal([ids[2], ids[1]], before!["order"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(ids[0], before.Str("prev_post_id"));
        var (_, after) = await s.SendAsync(HttpMethod.Get, $"/api/v4/channels/{channel}/posts?after={ids[1]}&per_page=2", erinToken);
        Assert.Equal([ids[3], ids[2]], after!["order"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(ids[4], after.Str("next_post_id"));
    }
}
