using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Websocket.Client;

namespace Bridge.Mattermost.Tests;

/// <summary>WebSocket frames and post bodies the fuzzer (tests/Bridge.Fuzz.Tests) found to throw past the frame handler.</summary>
public sealed class FuzzFindingTests
{
    private static List<StreamItem> Feed(params string[] frames)
    {
        var channel = Channel.CreateUnbounded<StreamItem>();
        var stream = new MattermostEventStream(new Uri("http://127.0.0.1:9/"), "t", new MattermostOptions { Url = "http://127.0.0.1:9/" }, NullLogger.Instance, channel.Writer);
        foreach (var f in frames)
        {
            stream.OnMessage(ResponseMessage.TextMessage(f));
        }

        stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
        var items = new List<StreamItem>();
        while (channel.Reader.TryRead(out var item))
        {
            items.Add(item);
        }

        return items;
    }

    [Fact]
    public void A_non_string_event_name_is_ignored_rather_than_thrown() =>
        Assert.Empty(Feed("""{"event":5,"data":{},"seq":1}"""));

    [Fact]
    public void A_frame_with_a_duplicate_key_is_dropped_rather_than_failing_in_the_connector() =>
        Assert.Empty(Feed("""{"event":"posted","data":{"post":"{}","post":"{}"},"seq":1}"""));

    [Fact]
    public void A_post_whose_props_repeat_a_key_is_malformed_when_read_not_when_a_prop_is_looked_up()
    {
        // Found by the fuzzer: JsonObject builds its dictionary on first access, so the duplicate surfaced as an
        // ArgumentException inside the connector; two "classification" props must never be first- or last-wins.
        var data = JsonNode.Parse("""{"post":"{\"id\":\"p1\",\"props\":{\"classification\":\"SECRET\",\"classification\":\"UNCLASSIFIED\"}}"}""")!.AsObject();
        Assert.Throws<JsonException>(() => Bridge.Mattermost.MattermostConnector.ParsePost(data));
    }

    [Fact]
    public void A_null_where_a_post_has_a_string_reads_as_empty_not_as_a_null_the_connector_dereferences()
    {
        // Found by the fuzzer (MattermostRestFuzzTests): "first_name":null came through as a null string; the catch-up
        // reads post.Type.StartsWith and post.RootId.Length, so such a post threw there at every catch-up.
        var post = MmJson.Read<MmPost>("""{"id":"p1","type":null,"root_id":null,"message":null,"user_id":null,"metadata":{"files":[null,{"id":"f1","name":null}],"reactions":[null]}}""")!;
        Assert.Equal("", post.Type);
        Assert.Equal("", post.RootId);
        Assert.Equal("", post.Message);
        Assert.Equal("", Assert.Single(post.Metadata!.Files!).Name);
        Assert.Empty(post.Metadata.Reactions!);
        var user = MmJson.Read<MmUser>("""{"id":"u1","username":"alice","first_name":null,"last_name":null,"nickname":null,"roles":null}""")!;
        Assert.Equal("alice", user.DisplayName);
        Assert.False(user.IsSystemAdmin);
    }

    [Fact]
    public void A_post_list_with_null_parts_lists_the_posts_it_has()
    {
        var list = MmJson.Read<MmPostList>("""{"order":[null,"p1","p2"],"posts":{"p1":{"id":"p1"},"p2":null}}""")!;
        Assert.Equal(["p1"], list.Order.Where(list.Posts.ContainsKey));
        Assert.Empty(MmJson.Read<MmPostList>("""{"order":null,"posts":null}""")!.Order);
    }

    [Fact]
    public void A_timestamp_outside_the_calendar_counts_as_now_rather_than_throwing()
    {
        var now = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var time = new FixedTime(now);
        Assert.Equal(now, Bridge.Mattermost.MattermostConnector.Timestamp(long.MaxValue, time));
        Assert.Equal(now, Bridge.Mattermost.MattermostConnector.Timestamp(long.MinValue, time));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), Bridge.Mattermost.MattermostConnector.Timestamp(1_700_000_000_000, time));
    }

    [Theory]
    [InlineData("user")]
    [InlineData("post")]
    [InlineData("upload")]
    public async Task A_rest_answer_whose_props_repeat_a_key_is_a_json_error_not_an_argument_exception(string call)
    {
        // Found by the fuzzer (MattermostRestFuzzTests, seed fBxbIT50xOo3): AllowDuplicateProperties does not reach a
        // JsonObject member, whose converter throws ArgumentException on a repeated key; the client let it escape.
        const string post = """{"id":"p1","create_at":1,"props":{"create_at":1,"create_at":2}}""";
        var (status, body) = call switch
        {
            "upload" => (System.Net.HttpStatusCode.Created, """{"file_infos":[{"id":"f1"}],"x":1,"x":2}"""),
            _ => (System.Net.HttpStatusCode.OK, post),
        };
        using var client = new MattermostApiClient(new MattermostOptions { Url = "http://127.0.0.1:9/", Token = "t" }, NullLogger.Instance, new Scripted(status, body));
        Task Act() => call switch
        {
            "user" => client.GetUserAsync("u1", "t", CancellationToken.None),
            "post" => client.GetPostAsync("p1", "t", CancellationToken.None),
            _ => client.UploadFileAsync("c1", "a.png", "image/png", () => new MemoryStream([1]), "t", CancellationToken.None),
        };

        await Assert.ThrowsAsync<JsonException>(Act);
    }

    private sealed class Scripted(System.Net.HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"), RequestMessage = request });
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task A_post_opening_a_code_fence_with_an_info_string_longer_than_a_part_is_split_and_ends()
    {
        // The fuzzer's conversion HANG (75 backticks then hundreds of <script> elements): the splitter closed the fence
        // at each cut and reopened it with its whole info string, longer than a part, so the next part was that line
        // again and no cut made progress. Guarded by a wall-clock limit only so the regression ends rather than hangs.
        var text = new string('`', 75) + string.Concat(Enumerable.Repeat("<script>alert(1)</script>", 2000)) + "\nend";
        var parts = await Task.Run(() => Bridge.Core.Text.MessageSplitter.Split(text, 16383)).WaitAsync(TimeSpan.FromSeconds(60)); // TimeoutException: it did not end
        Assert.All(parts, p => Assert.True(Bridge.Core.Text.MessageSplitter.CodePoints(p) <= 16383));
        // Nothing is lost: the parts read as the text, with the fence closed at each cut and reopened (plain) after it.
        Assert.Equal(text, string.Concat(parts).Replace("\n``````\n", "", StringComparison.Ordinal));
    }
}
