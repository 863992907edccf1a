using System.Collections;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bridge.Mattermost;
using Bridge.Mattermost.Api;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// Mattermost REST response bodies (users, teams, channels, posts, post lists with reactions and files, file uploads,
/// tokens, bots, client config, app errors) answered to the real API client through a scripted handler: every call
/// gives either a whole model (no null where the connector reads a string, a list or an element, timestamps the
/// connector can turn into a time) or one of the client's documented failures.
/// </summary>
public sealed class MattermostRestFuzzTests
{
    private static readonly string[] Bodies =
    [
        """{"id":"u1","username":"alice","email":"a@x","first_name":"Al","last_name":"Ice","nickname":"","roles":"system_user system_admin","is_bot":false,"delete_at":0,"props":{}}""",
        """{"id":"t1","name":"ops","display_name":"Ops"}""",
        """{"id":"c1","team_id":"t1","name":"town-square","display_name":"Town Square","type":"O"}""",
        """{"id":"p1","create_at":1700000000000,"update_at":1700000000001,"edit_at":0,"delete_at":0,"user_id":"u1","channel_id":"c1","root_id":"","message":"[CUI] hi","type":"","props":{"classification":"CUI","from_webhook":"true","override_username":"hook"},"file_ids":["f1"],"pending_post_id":"","metadata":{"files":[{"id":"f1","name":"a.png","mime_type":"image/png","size":10}],"reactions":[{"user_id":"u2","post_id":"p1","emoji_name":"+1","create_at":1700000000002}]}}""",
        """{"order":["p1","p2"],"posts":{"p1":{"id":"p1","create_at":1,"update_at":2,"user_id":"u1","channel_id":"c1","message":"one","type":""},"p2":{"id":"p2","create_at":3,"update_at":4,"user_id":"u1","channel_id":"c1","message":"two","type":"system_join_channel","root_id":"p1"}},"next_post_id":"","prev_post_id":""}""",
        """{"file_infos":[{"id":"f1","name":"a.png","mime_type":"image/png","size":10}],"client_ids":[]}""",
        """{"id":"tok1","token":"secret","user_id":"u1"}""",
        """{"user_id":"b1","username":"bridge-relay"}""",
        """{"Version":"10.0","EnableUserAccessTokens":"true","ExperimentalEnablePostMetadata":"true"}""",
        """{"id":"api.context.permissions.app_error","message":"You do not have the appropriate permissions.","status_code":403,"request_id":"r1"}""",
    ];

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "null", "true", "false", "0", "-1", "1e999", "1.5", "9223372036854775807", "-9223372036854775808",
        "99999999999999999999", "\"\"", "\"id\":null,", "\"username\":null,", "\"roles\":null,", "\"message\":null,", "\"type\":null,", "\"root_id\":null,", "\"order\":null,", "\"order\":[null],",
        "\"posts\":null,", "\"posts\":{\"p1\":null},", "\"metadata\":{\"files\":[null],\"reactions\":[null]},", "\"file_ids\":[null],", "\"create_at\":9223372036854775807,",
        "\"create_at\":-9223372036854775808,", "\"update_at\":\"x\",", "\"edit_at\":1e3,", "\"delete_at\":-1,", "\"props\":[],", "\"props\":{\"a\":1,\"a\":2},", "\"file_infos\":[],", "\"file_infos\":null,",
        "\"status_code\":\"x\",", "\"is_bot\":\"yes\",", "\"first_name\":null,", "\"last_name\":null,", "\"nickname\":null,", "\"name\":null,", "\"mime_type\":null,", "\"emoji_name\":null,",
        "\"Version\":null,", "\"Version\":1,", "\ufeff", "/*", "//",
    ];

    private enum Call
    {
        User,
        Me,
        Team,
        Channel,
        Post,
        PostsSince,
        Upload,
        Token,
        Bot,
        ClientConfig,
    }

    private static readonly Gen<(Call Call, int Status, string Body)> Inputs = Gen.Select(
        Gen.Enum<Call>(),
        Gen.Frequency((6, Gen.Const(200)), (1, Gen.OneOf(201, 204, 400, 401, 403, 404, 413))),
        Gen.Frequency((8, Mutator.Strings(Bodies, Tokens, maxEdits: 5)), (1, Mutator.Tokens(Tokens, 30)), (1, Mutator.Random(40))));

    [Fact]
    public void Mutated_response_bodies_give_whole_models_or_a_documented_failure() =>
        FuzzRunner.Run("mattermost-rest", Inputs, input => Run(input.Call, input.Status, input.Body), i => $"{i.Call} {i.Status} {Mutator.Show(i.Body)}");

    private static bool Run(Call call, int status, string body)
    {
        using var client = new MattermostApiClient(new MattermostOptions { Url = "http://127.0.0.1:9/", Token = "t" }, NullLogger.Instance, new Scripted((HttpStatusCode)status, body));
        object? result;
        try
        {
            result = Invoke(client, call).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is MattermostApiException or JsonException)
        {
            // The client's failures: the caller logs and retries or skips.
            return false;
        }

        if (call != Call.ClientConfig)
        {
            // (The client config is read with TryGetValue and compared with ==: a null value there is "not set".)
            AssertWhole(result, call.ToString());
        }
        switch (result)
        {
            case MmPost post:
                Read(post);
                break;
            case MmPostList list:
                // What the catch-up does with a list.
                foreach (var post in list.Order.Where(list.Posts.ContainsKey).Select(id => list.Posts[id]))
                {
                    Read(post);
                }

                break;
            case MmUser user:
                _ = user.DisplayName;
                _ = user.IsSystemAdmin;
                break;
        }

        return true;
    }

    /// <summary>The reads the connector makes of a post (MattermostConnector.Inbound: ToEventAsync, IngestEdit, IngestDelete, reactions).</summary>
    private static void Read(MmPost post)
    {
        _ = MattermostConnector.Timestamp(post.CreateAt, TimeProvider.System);
        _ = MattermostConnector.Timestamp(post.EditAt, TimeProvider.System);
        _ = MattermostConnector.Timestamp(post.DeleteAt == 0 ? post.UpdateAt : post.DeleteAt, TimeProvider.System);
        _ = post.Type.StartsWith("system_", StringComparison.Ordinal);
        _ = post.RootId.Length;
        _ = post.LabelProp("classification");
        _ = post.Prop("from_webhook") == "true" ? post.Prop("override_username") : null;
        foreach (var f in post.Metadata?.Files ?? [])
        {
            _ = f.Name.Length + f.MimeType.Length + f.Id.Length;
        }

        foreach (var r in post.Metadata?.Reactions ?? [])
        {
            _ = MattermostConnector.Timestamp(r.CreateAt, TimeProvider.System);
            _ = MattermostConnector.ReactionNativeId(r.PostId, r.UserId, r.EmojiName);
        }
    }

    private static async Task<object?> Invoke(MattermostApiClient client, Call call) => call switch
    {
        Call.User => await client.GetUserAsync("u1", "t", CancellationToken.None),
        Call.Me => await client.GetMeAsync("t", CancellationToken.None),
        Call.Team => await client.GetTeamByNameAsync("ops", "t", CancellationToken.None),
        Call.Channel => await client.GetChannelAsync("c1", "t", CancellationToken.None),
        Call.Post => await client.GetPostAsync("p1", "t", CancellationToken.None),
        Call.PostsSince => await client.GetPostsSinceAsync("c1", 0, "t", CancellationToken.None),
        Call.Upload => await client.UploadFileAsync("c1", "a.png", "image/png", () => new MemoryStream([1, 2, 3]), "t", CancellationToken.None),
        Call.Token => await client.CreateAccessTokenAsync("u1", "d", "t", CancellationToken.None),
        Call.Bot => await client.CreateBotAsync("bridge-relay", "Bridge", "t", CancellationToken.None),
        _ => await client.GetClientConfigAsync("t", CancellationToken.None),
    };

    /// <summary>No null string, list, list element or dictionary value anywhere in a model the connector reads.</summary>
    private static void AssertWhole(object? value, string path)
    {
        Assert.True(value is not null, $"null at {path}");
        switch (value)
        {
            case string or JsonNode or bool or long or int:
                return;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    AssertWhole(entry.Value, $"{path}[{entry.Key}]");
                }

                return;
            case IEnumerable list:
                var i = 0;
                foreach (var item in list)
                {
                    AssertWhole(item, $"{path}[{i++}]");
                }

                return;
        }

        foreach (var property in value!.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var nullable = new NullabilityInfoContext().Create(property).ReadState == NullabilityState.Nullable;
            var v = property.GetValue(value);
            if (v is null && nullable)
            {
                continue;
            }

            AssertWhole(v, $"{path}.{property.Name}");
        }
    }

    private sealed class Scripted(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json"), RequestMessage = request });
    }
}
