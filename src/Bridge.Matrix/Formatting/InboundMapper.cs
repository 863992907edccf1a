using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Media = Bridge.Core.Media;

namespace Bridge.Matrix.Formatting;

/// <summary>Normalises a Matrix room event into a <see cref="BridgeEvent"/>; null for events the bridge does not carry.</summary>
internal sealed class InboundMapper(string networkId, string labelField, MatrixHtml html)
{
    private static readonly long MinUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public BridgeEvent? Map(JsonObject ev, string channelId, PersonRef sender)
    {
        var type = Str(ev, "type");
        var eventId = Str(ev, "event_id");
        if (eventId is null || ev["content"] is not JsonObject content)
        {
            return null;
        }

        // A timestamp outside DateTimeOffset's range (any sender can claim one) would throw: it counts as absent.
        var timestamp = ev["origin_server_ts"] is JsonValue tsValue && tsValue.TryGetValue(out long ts) && ts >= MinUnixMs && ts <= MaxUnixMs
            ? DateTimeOffset.FromUnixTimeMilliseconds(ts)
            : DateTimeOffset.UtcNow;
        var template = new BridgeEvent
        {
            NetworkId = networkId,
            ChannelId = channelId,
            NativeId = eventId,
            Sender = sender,
            Timestamp = timestamp,
            StructuredLabels = LabelOf(content),
        };

        return type switch
        {
            "m.room.message" => MapMessage(template, content),
            "m.reaction" => MapReaction(template, content),
            "m.room.redaction" => (Str(ev, "redacts") ?? Str(content, "redacts")) is { } target
                ? template with { Kind = BridgeEventKind.Delete, TargetNativeId = target }
                : null,
            _ => null,
        };
    }

    private BridgeEvent? MapMessage(BridgeEvent template, JsonObject content)
    {
        var relates = content["m.relates_to"] as JsonObject;
        var relType = relates is null ? null : Str(relates, "rel_type");
        if (relType == "m.replace" && content["m.new_content"] is JsonObject newContent && Str(relates!, "event_id") is { } edited)
        {
            var replaced = MapBody(template, newContent, isReply: false);
            // R-K2: the edit is classified from scratch; a label key in m.new_content counts as well as one outside it.
            return replaced is null ? null : replaced with
            {
                Kind = BridgeEventKind.Edit,
                TargetNativeId = edited,
                StructuredLabels = [.. template.StructuredLabels, .. LabelOf(newContent)],
            };
        }

        var replyTo = (relates?["m.in_reply_to"] as JsonObject) is { } inReply ? Str(inReply, "event_id") : null;
        var threadRoot = relType == "m.thread" && relates is not null ? Str(relates, "event_id") : null;
        if (threadRoot is not null && (replyTo is null || relates!["is_falling_back"] is JsonValue fb && fb.TryGetValue(out bool falling) && falling))
        {
            // A thread message whose reply is only the fallback for clients without threads answers the thread root.
            replyTo = threadRoot;
        }

        var mapped = MapBody(template, content, isReply: replyTo is not null);
        return mapped is null ? null : mapped with { ReplyToNativeId = replyTo, ThreadRootNativeId = threadRoot };
    }

    private BridgeEvent? MapBody(BridgeEvent template, JsonObject content, bool isReply)
    {
        var msgtype = Str(content, "msgtype");
        var body = Str(content, "body") ?? "";
        if (isReply)
        {
            body = MatrixHtml.StripPlainReplyFallback(body);
        }

        string? sanitised = null;
        if (Str(content, "format") == "org.matrix.custom.html" && Str(content, "formatted_body") is { } formatted)
        {
            sanitised = html.Sanitise(formatted);
            if (sanitised.Length == 0)
            {
                sanitised = null;
            }
        }

        switch (msgtype)
        {
            case "m.text":
                return template with { MessageKind = MessageKind.Text, Text = body, Html = sanitised };
            case "m.emote":
                return template with { MessageKind = MessageKind.Emote, Text = body, Html = sanitised };
            case "m.notice":
                return template with { MessageKind = MessageKind.Notice, Text = body, Html = sanitised };
            case "m.image" or "m.file" or "m.video" or "m.audio":
                var info = content["info"] as JsonObject;
                var filename = Str(content, "filename");
                var name = filename ?? body;
                var attachment = new Attachment
                {
                    Name = name,
                    ContentType = (info is null ? null : Str(info, "mimetype")) ?? "application/octet-stream",
                    Size = info?["size"] is JsonValue size && size.TryGetValue(out long bytes) && bytes >= 0 ? bytes : 0,
                    // The bytes stay in the homeserver's repository: the connector serves them (authenticated media).
                    Source = Str(content, "url") is { } mxc && Connector.MxcUri.TryParse(mxc, out _, out _) ? new Media.MediaSource(networkId, mxc) : null,
                    Width = Pixels(info, "w"),
                    Height = Pixels(info, "h"),
                };
                // Spec v1.10: a media event whose body differs from its filename has the body as caption.
                var captioned = filename is not null && body != filename;
                return template with { Text = captioned ? body : "", Html = captioned ? sanitised : null, Attachments = [attachment] };
            default:
                return null;
        }
    }

    private static BridgeEvent? MapReaction(BridgeEvent template, JsonObject content)
    {
        if (content["m.relates_to"] is not JsonObject relates || Str(relates, "rel_type") != "m.annotation"
            || Str(relates, "event_id") is not { } target || Str(relates, "key") is not { } key)
        {
            return null;
        }

        return template with { Kind = BridgeEventKind.Reaction, TargetNativeId = target, ReactionKey = key };
    }

    private static int? Pixels(JsonObject? info, string name) =>
        info?[name] is JsonValue v && v.TryGetValue(out long px) && px is > 0 and <= int.MaxValue ? (int)px : null;

    /// <summary>
    /// The label key of a content object as the core expects it (see <see cref="StructuredLabel"/>): absent → none;
    /// a string (even empty) → itself; present but not a string (null, number, object) → NotAString (R-S1, fail closed).
    /// </summary>
    private IReadOnlyList<string> LabelOf(JsonObject content) =>
        !content.ContainsKey(labelField) ? []
        : JsonStrings.Of(content[labelField]) is { } s ? [s]
        : [StructuredLabel.NotAString];

    private static string? Str(JsonObject obj, string name) =>
        JsonStrings.Of(obj[name]);
}
