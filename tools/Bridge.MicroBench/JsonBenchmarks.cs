using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Bridge.Core.Model;
using Bridge.Matrix.Appservice;
using Bridge.Matrix.Formatting;
using Bridge.Mattermost;

namespace Bridge.MicroBench;

/// <summary>
/// JSON in: a Mattermost WebSocket <c>posted</c> frame read down to its post, and a Matrix appservice transaction read
/// and mapped to a core event (the listener's parse, then the mapper the connector runs on every event).
/// </summary>
[BenchmarkCategory("json")]
public class JsonBenchmarks
{
    private const string MattermostFrame =
        """{"event":"posted","data":{"channel_display_name":"Ops","channel_name":"ops","channel_type":"O","post":"{\"id\":\"p8ab3tqy1fr9ug1mh5f5xhjz9w\",\"create_at\":1733500000000,\"update_at\":1733500000000,\"edit_at\":0,\"delete_at\":0,\"is_pinned\":false,\"user_id\":\"u5ty6w1uyjny9ci3c5qmwjmgbr\",\"channel_id\":\"c4wxbtdn1jn9mpf6h1uu3xqe8c\",\"root_id\":\"\",\"original_id\":\"\",\"message\":\"hello **team**, see https://example.org/a\",\"type\":\"\",\"props\":{\"classification\":\"CUI\"},\"hashtags\":\"\",\"pending_post_id\":\"u5ty6w1uyjny9ci3c5qmwjmgbr:1733500000000\",\"reply_count\":0,\"metadata\":{}}","sender_name":"@alice","set_online":true,"team_id":"t1"},"broadcast":{"omit_users":null,"user_id":"","channel_id":"c4wxbtdn1jn9mpf6h1uu3xqe8c","team_id":""},"seq":42}""";

    private static readonly byte[] MatrixTransaction = Encoding.UTF8.GetBytes(
        """{"events":[{"type":"m.room.message","event_id":"$ev1:hs.example.org","room_id":"!room:hs.example.org","sender":"@alice:hs.example.org","origin_server_ts":1733500000000,"content":{"msgtype":"m.text","body":"hello **team**, see https://example.org/a","format":"org.matrix.custom.html","formatted_body":"<p>hello <strong>team</strong>, see <a href=\"https://example.org/a\">https://example.org/a</a></p>","org.example.label":"CUI"}}]}""");

    private static readonly PersonRef Alice = new() { NetworkId = "matrix-b", UserId = "@alice:hs.example.org", DisplayName = "Alice" };
    private readonly InboundMapper _mapper = new("matrix-b", "org.example.label", new MatrixHtml());

    [Benchmark]
    public string? MattermostPostedFrameToPost()
    {
        var frame = (JsonObject)JsonNode.Parse(MattermostFrame)!;
        return MattermostConnector.ParsePost((JsonObject)frame["data"]!)?.Message;
    }

    [Benchmark]
    public BridgeEvent? MatrixTransactionToEvent()
    {
        var (events, _, _) = AppserviceListener.ParseTransaction(MatrixTransaction);
        return _mapper.Map((JsonObject)events![0]!, "!room:hs.example.org", Alice);
    }
}
