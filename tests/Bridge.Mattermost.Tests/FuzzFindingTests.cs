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
}
