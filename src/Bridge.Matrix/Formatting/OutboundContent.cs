using System.Text.Json.Nodes;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Text.Formatting;

namespace Bridge.Matrix.Formatting;

/// <summary>Builds Matrix event content for a delivery: message kinds, HTML when the core has it, replies, edits, reactions, labels.</summary>
internal static class OutboundContent
{
    /// <summary>The text part of a message; <paramref name="attachmentNotices"/> stand for files that could not cross, one line each.</summary>
    /// <param name="threadTail">The newest known event of the thread the message is in (its root if none is known).</param>
    public static JsonObject Message(DeliveryRequest request, string labelField, IReadOnlyList<string> attachmentNotices, MessageFormatter? formatter = null,
        string? threadTail = null)
    {
        var e = request.Event;
        var content = Body(e, attachmentNotices, request.Label, labelField, request.Translation, formatter);
        if (request.ThreadRootNativeId is { } root)
        {
            content["m.relates_to"] = Thread(request, root, threadTail ?? root);
        }
        else if (request.ReplyToNativeId is { } replyTo)
        {
            content["m.relates_to"] = new JsonObject { ["m.in_reply_to"] = new JsonObject { ["event_id"] = replyTo } };
        }

        return content;
    }

    /// <summary>
    /// An <c>m.thread</c> relation (spec v1.4). A message that answers one message of the thread (not just the thread)
    /// names it as a real reply; otherwise the reply is the fallback to the thread's newest event that clients without
    /// threads show, marked <c>is_falling_back</c>.
    /// </summary>
    private static JsonObject Thread(DeliveryRequest request, string root, string tail)
    {
        var e = request.Event;
        var answersOne = e.ReplyToNativeId is not null && e.ReplyToNativeId != e.ThreadRootNativeId && request.ReplyToNativeId is not null;
        return new JsonObject
        {
            ["rel_type"] = "m.thread",
            ["event_id"] = root,
            ["is_falling_back"] = !answersOne,
            ["m.in_reply_to"] = new JsonObject { ["event_id"] = answersOne ? request.ReplyToNativeId : tail },
        };
    }

    public static JsonObject Edit(DeliveryRequest request, string targetEventId, string labelField, MessageFormatter? formatter = null)
    {
        var newContent = Body(request.Event, [], request.Label, labelField, request.Translation, formatter);
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

    /// <summary>An uploaded attachment as its own media event (m.image / m.video / m.audio / m.file).</summary>
    public static JsonObject Media(Attachment attachment, string mxcUri, long size, string contentType, string? label, string labelField)
    {
        var msgtype = attachment.ContentType.Split('/')[0] switch
        {
            "image" => "m.image",
            "video" => "m.video",
            "audio" => "m.audio",
            _ => "m.file",
        };
        var content = new JsonObject
        {
            ["msgtype"] = msgtype,
            ["body"] = attachment.Name,
            ["filename"] = attachment.Name,
            ["url"] = mxcUri,
            ["info"] = Info(attachment, size, contentType),
        };
        if (!string.IsNullOrEmpty(label))
        {
            content[labelField] = label;
        }

        return content;
    }

    /// <summary>
    /// One uploaded file with the message's text as its caption (spec v1.10: a media event whose <c>body</c> differs
    /// from its <c>filename</c>), the text's formatting, reply and mentions kept; null when the text is only the name.
    /// </summary>
    public static JsonObject? Captioned(JsonObject message, Attachment attachment, string mxcUri, long size, string contentType, string? label, string labelField)
    {
        if (message["body"]?.GetValue<string>() is not { Length: > 0 } caption || caption == attachment.Name)
        {
            return null;
        }
        var content = Media(attachment, mxcUri, size, contentType, label, labelField);
        content["body"] = caption;
        foreach (var key in new[] { "format", "formatted_body", "m.relates_to", "m.mentions" })
        {
            if (message[key] is { } value)
            {
                content[key] = value.DeepClone();
            }
        }
        return content;
    }

    private static JsonObject Info(Attachment attachment, long size, string contentType)
    {
        var info = new JsonObject { ["mimetype"] = contentType, ["size"] = size };
        if (attachment.Width is { } w && attachment.Height is { } h)
        {
            info["w"] = w;
            info["h"] = h;
        }
        return info;
    }

    /// <summary>The namespaced content field that keeps the original of a translated message (and marks an untranslated one).</summary>
    public const string TranslationField = "org.bridge.translation";

    private static JsonObject Body(BridgeEvent e, IReadOnlyList<string> attachmentNotices, string? label, string labelField, MessageTranslation? translation, MessageFormatter? formatter)
    {
        var text = e.Text;
        foreach (var line in attachmentNotices)
        {
            text = text.Length == 0 ? line : text + "\n" + line;
        }

        var content = new JsonObject
        {
            ["msgtype"] = e.MessageKind switch
            {
                MessageKind.Emote => "m.emote",
                MessageKind.Notice => "m.notice",
                _ => "m.text",
            },
            // The core's policy has already put the visible "[LABEL] " marker into the text and HTML.
            ["body"] = text,
            // Intentional mentions (spec v1.7): an explicit empty set stops clients from treating bridged text such as
            // "@room" or a display name as a mention that notifies people.
            ["m.mentions"] = new JsonObject(),
        };
        // Markdown (Mattermost) and XEP-0393 styling (XMPP) become HTML here, from the text as the policy labelled it.
        var formatted = formatter is null ? e.Html : formatter.Html(e.Text, e.Html, e.TextFormat, label);
        if (formatted is { Length: > 0 } html)
        {
            var attachmentsHtml = string.Concat(attachmentNotices.Select(line => "<br>" + MatrixHtml.Escape(line)));
            content["format"] = "org.matrix.custom.html";
            content["formatted_body"] = html + attachmentsHtml;
        }

        if (translation is { Translated: true } t)
        {
            // The translation is what clients show; the original stays in the event (a namespaced field) and in a
            // collapsed part of the HTML, where a reader can open it.
            var attachmentsHtml = string.Concat(attachmentNotices.Select(line => "<br>" + MatrixHtml.Escape(line)));
            var originalHtml = t.OriginalHtml is { Length: > 0 } oh ? oh : TextAsHtml(t.OriginalText);
            content["format"] = "org.matrix.custom.html";
            content["formatted_body"] = TextAsHtml(e.Text) + attachmentsHtml +
                $"<details><summary>Original ({MatrixHtml.Escape(t.SourceLanguage)}), translated to {MatrixHtml.Escape(t.TargetLanguage)} by machine</summary>{originalHtml}</details>";
            content[TranslationField] = new JsonObject
            {
                ["original"] = new JsonObject { ["body"] = t.OriginalText, ["formatted_body"] = t.OriginalHtml, ["language"] = t.SourceLanguage },
                ["language"] = t.TargetLanguage,
                ["engine"] = t.Engine,
            };
        }
        else if (translation is { Translated: false } u)
        {
            content[TranslationField] = new JsonObject { ["untranslated"] = true, ["language"] = u.SourceLanguage };
        }

        if (!string.IsNullOrEmpty(label))
        {
            content[labelField] = label;
        }

        return content;
    }

    private static string TextAsHtml(string text) => MatrixHtml.Escape(text).Replace("\n", "<br>", StringComparison.Ordinal);
}
