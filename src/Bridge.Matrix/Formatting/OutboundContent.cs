using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Model;

namespace Bridge.Matrix.Formatting;

/// <summary>Builds Matrix event content for a delivery: message kinds, HTML when the core has it, replies, edits, reactions, labels.</summary>
internal static class OutboundContent
{
    public static JsonObject Message(DeliveryRequest request, string labelField)
    {
        var e = request.Event;
        var content = Body(e, request.Label, labelField);
        if (request.ReplyToNativeId is { } replyTo)
        {
            content["m.relates_to"] = new JsonObject { ["m.in_reply_to"] = new JsonObject { ["event_id"] = replyTo } };
        }

        return content;
    }

    public static JsonObject Edit(DeliveryRequest request, string targetEventId, string labelField)
    {
        var newContent = Body(request.Event, request.Label, labelField);
        var content = (JsonObject)newContent.DeepClone();
        // Clients without edit support show the fallback "* new text".
        content["body"] = "* " + newContent["body"]!.GetValue<string>();
        if (content["formatted_body"] is { } html)
        {
            content["formatted_body"] = "* " + html.GetValue<string>();
        }

        content["m.new_content"] = newContent;
        content["m.relates_to"] = new JsonObject { ["rel_type"] = "m.replace", ["event_id"] = targetEventId };
        return content;
    }

    public static JsonObject Reaction(string targetEventId, string key) => new()
    {
        ["m.relates_to"] = new JsonObject { ["rel_type"] = "m.annotation", ["event_id"] = targetEventId, ["key"] = key },
    };

    private static JsonObject Body(BridgeEvent e, string? label, string labelField)
    {
        var text = e.Text;
        foreach (var attachment in e.Attachments)
        {
            // Media are linked rather than re-uploaded; the link is reachable for whoever can reach the source.
            var line = attachment.Url is null ? attachment.Name : $"{attachment.Name}: {attachment.Url}";
            text = text.Length == 0 ? line : text + "\n" + line;
        }

        var visibleLabel = string.IsNullOrEmpty(label) ? "" : $"[{label}] ";
        var content = new JsonObject
        {
            ["msgtype"] = e.MessageKind switch
            {
                MessageKind.Emote => "m.emote",
                MessageKind.Notice => "m.notice",
                _ => "m.text",
            },
            ["body"] = visibleLabel + text,
        };
        if (e.Html is { Length: > 0 } html)
        {
            var attachmentsHtml = string.Concat(e.Attachments.Select(a => a.Url is null
                ? "<br>" + MatrixHtml.Escape(a.Name)
                : $"<br><a href=\"{MatrixHtml.Escape(a.Url)}\">{MatrixHtml.Escape(a.Name)}</a>"));
            content["format"] = "org.matrix.custom.html";
            content["formatted_body"] = MatrixHtml.Escape(visibleLabel) + html + attachmentsHtml;
        }

        if (!string.IsNullOrEmpty(label))
        {
            content[labelField] = label;
        }

        return content;
    }
}
