using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Bridge.Mattermost;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Websocket.Client;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// Mattermost WebSocket frames (the event stream's frame handling and seq checking, then the post/reaction/user bodies
/// the connector reads from them, which are the REST models too) on mutated envelopes and seq numbers.
/// </summary>
public sealed class MattermostFuzzTests
{
    private static readonly string[] Frames =
    [
        """{"event":"hello","data":{"connection_id":"c1","server_version":"10.0"},"broadcast":{},"seq":0}""",
        """{"event":"posted","data":{"channel_type":"O","post":"{\"id\":\"p1\",\"create_at\":1700000000000,\"update_at\":1700000000000,\"user_id\":\"u1\",\"channel_id\":\"ch1\",\"root_id\":\"\",\"message\":\"[CUI] hi @all\",\"type\":\"\",\"props\":{\"classification\":\"CUI\",\"from_bridge\":\"x\"},\"file_ids\":[\"f1\"],\"metadata\":{\"files\":[{\"id\":\"f1\",\"name\":\"a.png\",\"size\":10,\"mime_type\":\"image/png\"}]}}","sender_name":"@alice"},"broadcast":{"channel_id":"ch1"},"seq":1}""",
        """{"event":"post_edited","data":{"post":"{\"id\":\"p1\",\"edit_at\":1700000000001,\"update_at\":1700000000001,\"user_id\":\"u1\",\"channel_id\":\"ch1\",\"message\":\"edited\"}"},"seq":2}""",
        """{"event":"reaction_added","data":{"reaction":"{\"user_id\":\"u1\",\"post_id\":\"p1\",\"emoji_name\":\"+1\",\"create_at\":1,\"channel_id\":\"ch1\"}"},"seq":3}""",
        """{"event":"user_updated","data":{"user":{"id":"u1","username":"alice","first_name":"Al","roles":"system_user","props":{}}},"seq":4}""",
        """{"status":"OK","seq_reply":1}""",
        """{"event":"post_deleted","data":{"post":"{\"id\":\"p1\",\"delete_at\":5,\"user_id\":\"u1\",\"channel_id\":\"ch1\"}"},"seq":5}""",
    ];

    private static readonly string[] JsonTokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\\\"", "\\\\", "null", "true", "0", "-1", "1e999", "9223372036854775807", "-9223372036854775808", "1.5", "\"seq\":", "\"seq\":\"1\"",
        "\"event\":", "\"event\":5,", "\"data\":", "\"data\":[],", "\"post\":", "\"post\":{},", "\"props\":", "\"props\":[],", "\\\"props\\\":{\\\"a\\\":1,\\\"a\\\":2},", "\\\"create_at\\\":\\\"x\\\",",
        "\\\"file_ids\\\":null,", "\\\"message\\\":1,", "\"connection_id\":", "\"connection_id\":7,", "\"seq_reply\":", "\"status\":1,", "\\ud800", "\\\\ud800", "\"reaction\":{},", "\"user\":\"x\",",
    ];

    private static readonly Gen<string> Frame = Gen.Frequency((8, Mutator.Strings(Frames, JsonTokens, maxEdits: 4)), (1, Mutator.Tokens(JsonTokens, 30)));

    private static readonly Gen<(string Frame, long? Seq)[]> Sessions =
        Gen.Select(Frame, Gen.Frequency((3, Gen.Const((long?)null)), (2, Gen.Long[-2, 12].Select(s => (long?)s)), (1, Gen.Long.Select(s => (long?)s)))).Array[1, 12];

    [Fact]
    public void Mutated_frames_never_throw_and_every_seq_jump_is_a_resync() =>
        FuzzRunner.Run("mattermost-frames", Sessions, Run, frames => string.Join("\n", frames.Select(f => Mutator.Show(f.Frame) + " seq=" + f.Seq)));

    private static bool Run((string Frame, long? Seq)[] frames)
    {
        var channel = Channel.CreateUnbounded<StreamItem>();
        var stream = new MattermostEventStream(new Uri("http://127.0.0.1:9/"), "token", new MattermostOptions { Url = "http://127.0.0.1:9/" }, NullLogger.Instance, channel.Writer);
        try
        {
            foreach (var (text, seq) in frames)
            {
                // A text frame arrives as UTF-8 and is decoded with replacement characters: never a lone surrogate.
                var frame = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(text));
                if (seq is { } s && TryParse(frame) is { } obj)
                {
                    try
                    {
                        obj["seq"] = s; // the seq-number fuzz: any value on an otherwise sensible frame
                        frame = obj.ToJsonString();
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
                    {
                        // A key System.Text.Json cannot read back (lone surrogate escape, duplicate): the frame goes as it is.
                    }
                }

                stream.OnMessage(ResponseMessage.TextMessage(frame));
            }
        }
        finally
        {
            stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        var events = 0;
        long? last = null;
        var resynced = false;
        while (channel.Reader.TryRead(out var item))
        {
            switch (item)
            {
                case StreamItem.Resync:
                    resynced = true;
                    break;
                case StreamItem.Event e:
                    Assert.True(resynced || last is null || e.Seq == last + 1, $"event seq {e.Seq} after {last} with no resync between");
                    last = e.Seq;
                    resynced = false;
                    events++;
                    ReadBodies(e.Data);
                    break;
            }
        }

        return events > 0;
    }

    /// <summary>What the connector reads from an event's data (the same models the REST client reads); bad JSON is a JsonException.</summary>
    private static void ReadBodies(JsonObject data)
    {
        try
        {
            if (MattermostConnector.ParsePost(data) is { } post)
            {
                _ = post.Prop("from_bridge");
                _ = post.LabelProp("classification");
                _ = post.Metadata?.Files?.Count;
            }

            if (data["reaction"] is JsonValue r && r.TryGetValue<string>(out var json))
            {
                _ = MmJson.Read<MmReaction>(json);
            }

            if (data["user"] is JsonObject)
            {
                _ = data["user"].Deserialize<MmUser>(MmJson.Options)?.DisplayName;
            }
        }
        catch (JsonException)
        {
            // The documented outcome for a malformed body.
        }
    }

    private static JsonObject? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
