using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Mattermost.Model;

namespace Sandbox.Mattermost.Tests;

public sealed class RestTests
{
    [Fact]
    public void Ids_are_26_chars_of_the_server_alphabet()
    {
        var ids = Enumerable.Range(0, 200).Select(_ => MmIds.NewId()).ToList();
        Assert.All(ids, id =>
        {
            Assert.Equal(26, id.Length);
            Assert.All(id, c => Assert.Contains(c, MmIds.Alphabet));
        });
        Assert.Equal(ids.Count, ids.Distinct().Count());
        // 16 zero bytes encode to the alphabet's first letter; the 26th char carries 3 bits of padding.
        Assert.Equal(new string('y', 26), MmIds.Encode(new byte[16]));
    }

    [Fact]
    public async Task Responses_carry_exact_json_content_type_and_server_headers()
    {
        await using var s = await TestServer.StartAsync();
        var (resp, body) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/me", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("application/json", resp.Content.Headers.GetValues("Content-Type").Single());
        Assert.Equal(26, resp.Headers.GetValues("X-Request-Id").Single().Length);
        Assert.StartsWith("10.5.0.", resp.Headers.GetValues("X-Version-Id").Single(), StringComparison.Ordinal);
        Assert.Equal("admin", body.Str("username"));
        Assert.Null(body?["password"]);
    }

    [Fact]
    public async Task Errors_are_app_errors_and_bearer_matches_any_case()
    {
        await using var s = await TestServer.StartAsync();
        var (resp, body) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/me", "not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, resp.StatusCode);
        Assert.Equal("api.context.session_expired.app_error", body.Str("id"));
        Assert.Equal(401, body?["status_code"]?.GetValue<int>());
        Assert.Equal(resp.Headers.GetValues("X-Request-Id").Single(), body.Str("request_id"));
        Assert.Equal("", body.Str("detailed_error"));

        foreach (var scheme in new[] { "BEARER", "bearer", "Bearer", "bEaReR" })
        {
            var (ok, _) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/me", s.Seed.AdminToken, scheme: scheme);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        var (missing, missingBody) = await s.SendAsync(HttpMethod.Get, "/api/v4/nothing/here", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("api.context.404.app_error", missingBody.Str("id"));
    }

    [Fact]
    public async Task Login_answers_200_with_token_header()
    {
        await using var s = await TestServer.StartAsync();
        s.Sandbox.CreateUser("carol", "Carol-Passw0rd");
        var (resp, body) = await s.SendAsync(HttpMethod.Post, "/api/v4/users/login", null, new JsonObject { ["login_id"] = "Carol", ["password"] = "Carol-Passw0rd" });
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var token = resp.Headers.GetValues("Token").Single();
        Assert.Equal(26, token.Length);
        Assert.Equal("carol", body.Str("username"));
        var (me, meBody) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/me", token);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(body.Str("id"), meBody.Str("id"));

        var (bad, badBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/users/login", null, new JsonObject { ["login_id"] = "carol", ["password"] = "wrong-password" });
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Equal("api.user.login.invalid_credentials_email_username", badBody.Str("id"));
    }

    [Theory]
    [InlineData("Matrix_Alice", HttpStatusCode.Created, "matrix_alice")]
    [InlineData("a", HttpStatusCode.Created, "a")]
    [InlineData("all", HttpStatusCode.BadRequest, null)]
    [InlineData("Channel", HttpStatusCode.BadRequest, null)]
    [InlineData("matterbot", HttpStatusCode.BadRequest, null)]
    [InlineData("bad name", HttpStatusCode.BadRequest, null)]
    [InlineData("émile", HttpStatusCode.BadRequest, null)]
    [InlineData("x:remote", HttpStatusCode.BadRequest, null)]
    public async Task User_creation_follows_server_username_rules(string username, HttpStatusCode expected, string? stored)
    {
        await using var s = await TestServer.StartAsync();
        var (resp, body) = await s.SendAsync(HttpMethod.Post, "/api/v4/users", s.Seed.AdminToken,
            new JsonObject { ["username"] = username, ["email"] = "Someone@Example.org", ["password"] = "Passw0rd!x" });
        Assert.Equal(expected, resp.StatusCode);
        if (stored is null)
        {
            Assert.Equal("model.user.is_valid.username.app_error", body.Str("id"));
        }
        else
        {
            Assert.Equal(stored, body.Str("username"));
            Assert.Equal("someone@example.org", body.Str("email"));
        }
    }

    [Fact]
    public async Task User_creation_checks_email_duplicates_and_permissions()
    {
        await using var s = await TestServer.StartAsync();
        var (_, token) = s.AddMember("plain");
        var body = new JsonObject { ["username"] = "newbie", ["email"] = "newbie@localhost", ["password"] = "Passw0rd!x" };
        var (forbidden, _) = await s.SendAsync(HttpMethod.Post, "/api/v4/users", token, body);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        var (created, _) = await s.SendAsync(HttpMethod.Post, "/api/v4/users", s.Seed.AdminToken, body);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var (dupName, dupBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/users", s.Seed.AdminToken,
            new JsonObject { ["username"] = "NEWBIE", ["email"] = "other@localhost", ["password"] = "Passw0rd!x" });
        Assert.Equal(HttpStatusCode.BadRequest, dupName.StatusCode);
        Assert.Equal("app.user.save.username_exists.app_error", dupBody.Str("id"));
        var (badEmail, badEmailBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/users", s.Seed.AdminToken,
            new JsonObject { ["username"] = "other", ["email"] = "not-an-email", ["password"] = "Passw0rd!x" });
        Assert.Equal(HttpStatusCode.BadRequest, badEmail.StatusCode);
        Assert.Equal("model.user.is_valid.email.app_error", badEmailBody.Str("id"));

        var (byName, byNameBody) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/username/newbie", token);
        Assert.Equal(HttpStatusCode.OK, byName.StatusCode);
        var (patched, patchedBody) = await s.SendAsync(HttpMethod.Put, $"/api/v4/users/{byNameBody.Str("id")}/patch", s.Seed.AdminToken,
            new JsonObject { ["first_name"] = "Newbie Person" });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal("Newbie Person", patchedBody.Str("first_name"));
    }

    [Fact]
    public async Task Bots_need_EnableBotAccountCreation_and_bot_tokens_ignore_EnableUserAccessTokens()
    {
        await using var s = await TestServer.StartAsync();
        var bot = new JsonObject { ["username"] = "bridgebot", ["display_name"] = "Bridge" };
        var (disabled, disabledBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/bots", s.Seed.AdminToken, bot);
        Assert.Equal(HttpStatusCode.Forbidden, disabled.StatusCode);
        Assert.Equal("api.bot.create_disabled", disabledBody.Str("id"));

        s.Sandbox.Settings.EnableBotAccountCreation = true;
        var (created, createdBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/bots", s.Seed.AdminToken, bot);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var botId = createdBody.Str("user_id");
        Assert.Equal(s.Seed.Admin.Id, createdBody.Str("owner_id"));

        // Tokens are off: 501 for a person, allowed for a bot, and the answer is 200 (not the spec's 201).
        var user = s.Sandbox.CreateUser("human");
        var (off, offBody) = await s.SendAsync(HttpMethod.Post, $"/api/v4/users/{user.Id}/tokens", s.Seed.AdminToken, new JsonObject { ["description"] = "bridge" });
        Assert.Equal(HttpStatusCode.NotImplemented, off.StatusCode);
        Assert.Equal("app.user_access_token.disabled", offBody.Str("id"));
        var (botTok, botTokBody) = await s.SendAsync(HttpMethod.Post, $"/api/v4/users/{botId}/tokens", s.Seed.AdminToken, new JsonObject { ["description"] = "bridge" });
        Assert.Equal(HttpStatusCode.OK, botTok.StatusCode);
        var (botMe, botMeBody) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/me", botTokBody.Str("token"));
        Assert.Equal(HttpStatusCode.OK, botMe.StatusCode);
        Assert.True(botMeBody?["is_bot"]?.GetValue<bool>());

        s.Sandbox.Settings.EnableUserAccessTokens = true;
        var (on, onBody) = await s.SendAsync(HttpMethod.Post, $"/api/v4/users/{user.Id}/tokens", s.Seed.AdminToken, new JsonObject { ["description"] = "bridge" });
        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        Assert.Equal(26, onBody.Str("token").Length);
        Assert.Equal(user.Id, onBody.Str("user_id"));
        Assert.True(onBody?["is_active"]?.GetValue<bool>());
        var (noDesc, _) = await s.SendAsync(HttpMethod.Post, $"/api/v4/users/{user.Id}/tokens", s.Seed.AdminToken, new JsonObject());
        Assert.Equal(HttpStatusCode.BadRequest, noDesc.StatusCode);
    }

    [Fact]
    public async Task Teams_and_channels_by_name_and_members()
    {
        await using var s = await TestServer.StartAsync();
        var (_, team) = await s.SendAsync(HttpMethod.Get, "/api/v4/teams/name/demo", s.Seed.AdminToken);
        Assert.Equal(s.Seed.Team.Id, team.Str("id"));
        var (_, channel) = await s.SendAsync(HttpMethod.Get, $"/api/v4/teams/{s.Seed.Team.Id}/channels/name/town-square", s.Seed.AdminToken);
        Assert.Equal(s.Seed.Channel.Id, channel.Str("id"));
        var (missing, missingBody) = await s.SendAsync(HttpMethod.Get, $"/api/v4/teams/{s.Seed.Team.Id}/channels/name/nope", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("app.channel.get_by_name.missing.app_error", missingBody.Str("id"));
        var (noTeam, _) = await s.SendAsync(HttpMethod.Get, "/api/v4/teams/name/nope", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, noTeam.StatusCode);

        var user = s.Sandbox.CreateUser("dave");
        var (tm, tmBody) = await s.SendAsync(HttpMethod.Post, $"/api/v4/teams/{s.Seed.Team.Id}/members", s.Seed.AdminToken,
            new JsonObject { ["team_id"] = s.Seed.Team.Id, ["user_id"] = user.Id });
        Assert.Equal(HttpStatusCode.Created, tm.StatusCode);
        Assert.Equal("team_user", tmBody.Str("roles"));
        var (cm, cmBody) = await s.SendAsync(HttpMethod.Post, $"/api/v4/channels/{s.Seed.Channel.Id}/members", s.Seed.AdminToken,
            new JsonObject { ["user_id"] = user.Id });
        Assert.Equal(HttpStatusCode.Created, cm.StatusCode);
        Assert.Equal("channel_user", cmBody.Str("roles"));
        Assert.True(s.Sandbox.IsChannelMember(s.Seed.Channel.Id, user.Id));
        Assert.Contains(s.Sandbox.GetPosts(s.Seed.Channel.Id), p => p.Type == "system_add_to_channel" && p.Props.Str("addedUserId") == user.Id);
    }

    [Fact]
    public async Task Post_length_is_counted_in_code_points()
    {
        await using var s = await TestServer.StartAsync();
        var emoji = "\U0001F600"; // two UTF-16 units, one code point
        var atLimit = string.Concat(Enumerable.Repeat(emoji, 16383));
        var (ok, okBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
            new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = atLimit });
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        Assert.Equal(atLimit, okBody.Str("message"));
        var (tooLong, tooLongBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
            new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = atLimit + "x" });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("model.post.is_valid.msg.app_error", tooLongBody.Str("id"));
    }

    [Fact]
    public async Task Pending_post_id_deduplicates_and_is_echoed()
    {
        await using var s = await TestServer.StartAsync();
        var body = new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = "once", ["pending_post_id"] = "nonce-1", ["props"] = new JsonObject { ["bridge"] = "x" } };
        var (first, firstBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken, body);
        var (second, secondBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken, body);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(firstBody.Str("id"), secondBody.Str("id"));
        Assert.Equal("nonce-1", firstBody.Str("pending_post_id"));
        Assert.Equal("x", firstBody?["props"].Str("bridge"));
        Assert.Single(s.Sandbox.GetPosts(s.Seed.Channel.Id), p => p.Message == "once");
    }

    [Fact]
    public async Task Patch_delete_and_since_include_deleted_posts()
    {
        await using var s = await TestServer.StartAsync();
        var (_, created) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
            new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = "v1", ["props"] = new JsonObject { ["tag"] = "keep" } });
        var id = created.Str("id");
        var createdAt = created!["create_at"]!.GetValue<long>();
        await Task.Delay(5);
        var (patched, patchedBody) = await s.SendAsync(HttpMethod.Put, $"/api/v4/posts/{id}/patch", s.Seed.AdminToken, new JsonObject { ["message"] = "v2" });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal("v2", patchedBody.Str("message"));
        Assert.True(patchedBody!["edit_at"]!.GetValue<long>() > 0);
        Assert.Equal("keep", patchedBody["props"].Str("tag")); // props untouched when not sent

        var (reply, replyBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
            new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = "reply", ["root_id"] = id });
        Assert.Equal(HttpStatusCode.Created, reply.StatusCode);
        var (replyToReply, rrBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
            new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = "bad", ["root_id"] = replyBody.Str("id") });
        Assert.Equal(HttpStatusCode.BadRequest, replyToReply.StatusCode);
        Assert.Equal("api.post.create_post.root_id.app_error", rrBody.Str("id"));

        var (deleted, _) = await s.SendAsync(HttpMethod.Delete, $"/api/v4/posts/{id}", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var (gone, _) = await s.SendAsync(HttpMethod.Get, $"/api/v4/posts/{id}", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        var (since, sinceBody) = await s.SendAsync(HttpMethod.Get, $"/api/v4/channels/{s.Seed.Channel.Id}/posts?since={createdAt - 1}", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, since.StatusCode);
        var order = sinceBody!["order"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains(id, order);
        Assert.True(sinceBody["posts"]![id]!["delete_at"]!.GetValue<long>() > 0);
        Assert.True(sinceBody["posts"]![replyBody.Str("id")]!["delete_at"]!.GetValue<long>() > 0); // replies go with their root
    }

    [Fact]
    public async Task Reactions_answer_200_and_only_for_the_session_user()
    {
        await using var s = await TestServer.StartAsync();
        var (bob, bobToken) = s.AddMember("bob");
        var post = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "react to me");
        var (ok, okBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/reactions", bobToken,
            new JsonObject { ["user_id"] = bob.Id, ["post_id"] = post.Id, ["emoji_name"] = "+1" });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(s.Seed.Channel.Id, okBody.Str("channel_id"));
        var (other, otherBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/reactions", s.Seed.AdminToken,
            new JsonObject { ["user_id"] = bob.Id, ["post_id"] = post.Id, ["emoji_name"] = "smile" });
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal("api.reaction.save_reaction.user_id.app_error", otherBody.Str("id"));
        var (bad, _) = await s.SendAsync(HttpMethod.Post, "/api/v4/reactions", bobToken,
            new JsonObject { ["user_id"] = bob.Id, ["post_id"] = post.Id, ["emoji_name"] = "no spaces" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["+1"], s.Sandbox.GetPosts(s.Seed.Channel.Id).Single(p => p.Id == post.Id).Reactions.Select(r => r.EmojiName));
        var (removed, _) = await s.SendAsync(HttpMethod.Delete, $"/api/v4/users/{bob.Id}/posts/{post.Id}/reactions/+1", bobToken);
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Empty(s.Sandbox.GetPosts(s.Seed.Channel.Id).Single(p => p.Id == post.Id).Reactions);
    }

    [Fact]
    public async Task Removing_a_reaction_is_as_strict_as_the_real_server()
    {
        await using var s = await TestServer.StartAsync();
        var (bob, bobToken) = s.AddMember("bob");
        var (_, carolToken) = s.AddMember("carol");
        var outsider = s.Sandbox.CreateUser("dave", "Passw0rd!");
        s.Sandbox.AddToTeam(s.Seed.Team.Id, outsider.Id);
        var outsiderToken = s.Sandbox.CreateAccessToken(outsider.Id);
        var post = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "react to me");
        s.Sandbox.React(bob.Id, post.Id, "+1");
        string Path(string user, string postId, string emoji) => $"/api/v4/users/{user}/posts/{postId}/reactions/{emoji}";

        // Someone else's reaction: remove_others_reactions, which only admins have.
        var (other, otherBody) = await s.SendAsync(HttpMethod.Delete, Path(bob.Id, post.Id, "+1"), carolToken);
        Assert.Equal((HttpStatusCode.Forbidden, "api.context.permissions.app_error"), (other.StatusCode, otherBody.Str("id")));
        // An emoji name the server would never have stored.
        var (bad, badBody) = await s.SendAsync(HttpMethod.Delete, Path(bob.Id, post.Id, "no%20spaces"), bobToken);
        Assert.Equal((HttpStatusCode.BadRequest, "api.context.invalid_url_param.app_error"), (bad.StatusCode, badBody.Str("id")));
        // A post that does not exist has no channel to hold remove_reaction in: 403 for a user, 404 for an admin.
        var missing = "abcdefghijklmnopqrstuvwxyz";
        var (gone, goneBody) = await s.SendAsync(HttpMethod.Delete, Path(bob.Id, missing, "+1"), bobToken);
        Assert.Equal((HttpStatusCode.Forbidden, "api.context.permissions.app_error"), (gone.StatusCode, goneBody.Str("id")));
        var (goneAdmin, goneAdminBody) = await s.SendAsync(HttpMethod.Delete, Path(s.Seed.Admin.Id, missing, "+1"), s.Seed.AdminToken);
        Assert.Equal((HttpStatusCode.NotFound, "app.post.get.app_error"), (goneAdmin.StatusCode, goneAdminBody.Str("id")));
        // A team member outside the (open) channel does not hold remove_reaction there (it comes with channel membership,
        // not with the team), even for a reaction of his own: refused, and nothing changes.
        var (outsiderOwn, outsiderBody) = await s.SendAsync(HttpMethod.Delete, Path(outsider.Id, post.Id, "+1"), outsiderToken);
        Assert.Equal((HttpStatusCode.Forbidden, "api.context.permissions.app_error"), (outsiderOwn.StatusCode, outsiderBody.Str("id")));
        Assert.Single(s.Sandbox.GetPosts(s.Seed.Channel.Id).Single(p => p.Id == post.Id).Reactions);

        // The reacting user may; so may an admin.
        var (own, _) = await s.SendAsync(HttpMethod.Delete, Path(bob.Id, post.Id, "+1"), bobToken);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Empty(s.Sandbox.GetPosts(s.Seed.Channel.Id).Single(p => p.Id == post.Id).Reactions);
        s.Sandbox.React(bob.Id, post.Id, "tada");
        var (byAdmin, _) = await s.SendAsync(HttpMethod.Delete, Path(bob.Id, post.Id, "tada"), s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, byAdmin.StatusCode);
        Assert.Empty(s.Sandbox.GetPosts(s.Seed.Channel.Id).Single(p => p.Id == post.Id).Reactions);
    }

    [Fact]
    public async Task Files_upload_multipart_attach_and_download()
    {
        await using var s = await TestServer.StartAsync();
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(s.Seed.Channel.Id), "channel_id");
        var bytes = Encoding.UTF8.GetBytes("hello file");
        var part = new ByteArrayContent(bytes);
        part.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        form.Add(part, "files", "Notes.TXT");
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/v4/files") { Content = form };
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s.Seed.AdminToken);
        var resp = await s.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.Created, resp.StatusCode);
        var info = JsonNode.Parse(await resp.Content.ReadAsStringAsync())!["file_infos"]![0]!;
        Assert.Equal("txt", info.Str("extension"));
        Assert.Equal(bytes.Length, info["size"]!.GetValue<long>());

        var (posted, postBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
            new JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = "file", ["file_ids"] = new JsonArray(info.Str("id")) });
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        Assert.Equal(info.Str("id"), postBody!["file_ids"]![0]!.GetValue<string>());
        Assert.Equal("Notes.TXT", postBody["metadata"]!["files"]![0].Str("name"));

        using var get = new HttpRequestMessage(HttpMethod.Get, $"/api/v4/files/{info.Str("id")}");
        get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s.Seed.AdminToken);
        var download = await s.Http.SendAsync(get);
        Assert.Equal(bytes, await download.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_file_is_served_only_to_its_uploader_a_channel_member_or_an_admin()
    {
        await using var s = await TestServer.StartAsync();
        var (_, uploaderToken) = s.AddMember("uploader");
        var (_, memberToken) = s.AddMember("member");
        var outsider = s.Sandbox.CreateUser("outsider");
        s.Sandbox.AddToTeam(s.Seed.Team.Id, outsider.Id); // in the team, not in the (public) channel
        var outsiderToken = s.Sandbox.CreateAccessToken(outsider.Id);
        using var form = new MultipartFormDataContent { { new StringContent(s.Seed.Channel.Id), "channel_id" } };
        form.Add(new ByteArrayContent([1, 2, 3]), "files", "a.bin");
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/api/v4/files") { Content = form };
        upload.Headers.Authorization = new AuthenticationHeaderValue("Bearer", uploaderToken);
        var id = JsonNode.Parse(await (await s.Http.SendAsync(upload)).Content.ReadAsStringAsync())!["file_infos"]![0].Str("id");

        async Task<HttpStatusCode> GetAs(string? token)
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, $"/api/v4/files/{id}");
            if (token is not null)
            {
                get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            return (await s.Http.SendAsync(get)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(null));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAs(outsiderToken));
        Assert.Equal(HttpStatusCode.OK, await GetAs(memberToken));
        Assert.Equal(HttpStatusCode.OK, await GetAs(uploaderToken));
        Assert.Equal(HttpStatusCode.OK, await GetAs(s.Seed.AdminToken));
    }

    [Fact]
    public async Task Client_config_and_ping()
    {
        await using var s = await TestServer.StartAsync(o => o.EnablePostUsernameOverride = true);
        var (cfg, cfgBody) = await s.SendAsync(HttpMethod.Get, "/api/v4/config/client?format=old", null);
        Assert.Equal(HttpStatusCode.OK, cfg.StatusCode);
        Assert.Equal("16383", cfgBody.Str("MaxPostSize"));
        Assert.Equal("true", cfgBody.Str("EnablePostUsernameOverride"));
        Assert.Equal("false", cfgBody.Str("EnableUserAccessTokens"));
        var (noFormat, _) = await s.SendAsync(HttpMethod.Get, "/api/v4/config/client", null);
        Assert.Equal(HttpStatusCode.NotImplemented, noFormat.StatusCode);
        var (ping, pingBody) = await s.SendAsync(HttpMethod.Get, "/api/v4/system/ping", null);
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        Assert.Equal("OK", pingBody.Str("status"));
    }

    [Fact]
    public async Task Username_override_is_shown_only_when_enabled()
    {
        await using var s = await TestServer.StartAsync();
        var props = new JsonObject { ["from_webhook"] = "true", ["override_username"] = "alice (matrix)" };
        var off = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "off", props: props);
        Assert.Equal("admin", off.DisplayedAuthorName);
        s.Sandbox.Settings.EnablePostUsernameOverride = true;
        var on = s.Sandbox.Post(s.Seed.Admin.Id, s.Seed.Channel.Id, "on", props: props);
        Assert.Equal("alice (matrix)", on.DisplayedAuthorName);
    }

    [Fact]
    public async Task Rate_limit_answers_429_text_plain_with_headers()
    {
        await using var s = await TestServer.StartAsync(o =>
        {
            o.RateLimitEnable = true;
            o.RateLimitPerSec = 1;
            o.RateLimitMaxBurst = 2;
        });
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 10 && limited is null; i++)
        {
            var (resp, _) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/me", s.Seed.AdminToken);
            Assert.True(resp.Headers.Contains("X-RateLimit-Limit"));
            if (resp.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = resp;
            }
        }
        Assert.NotNull(limited);
        Assert.Equal("text/plain; charset=utf-8", limited.Content.Headers.ContentType?.ToString());
        Assert.Equal("limit exceeded\n", await limited.Content.ReadAsStringAsync());
        Assert.Equal("0", limited.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.True(limited.Headers.Contains("X-RateLimit-Reset"));

        s.Sandbox.Settings.RateLimitEnable = false;
        var (after, _) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/me", s.Seed.AdminToken);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}

public sealed class LimitTests
{
    [Fact]
    public async Task Oversized_bodies_and_urls_are_refused()
    {
        await using var s = await TestServer.StartAsync();
        var (big, bigBody) = await s.SendAsync(HttpMethod.Post, "/api/v4/posts", s.Seed.AdminToken,
            new System.Text.Json.Nodes.JsonObject { ["channel_id"] = s.Seed.Channel.Id, ["message"] = new string('x', 300001) });
        Assert.Equal((System.Net.HttpStatusCode)413, big.StatusCode);
        Assert.Equal("api.context.request_body_too_large.app_error", bigBody.Str("id"));
        var (longUrl, _) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/username/" + new string('a', 2100), s.Seed.AdminToken);
        Assert.Equal((System.Net.HttpStatusCode)414, longUrl.StatusCode);
    }
}
