using System.Net;
using System.Text.Json.Nodes;
using Bridge.Core.Text;

namespace Bridge.Matrix.Formatting;

/// <summary>
/// Matrix's event size limit and how a message is kept under it. The spec limits a whole event to 65,536 bytes of
/// canonical JSON, and the homeserver adds an envelope (ids, hashes, signatures, auth and prev events: about 1 KB) to
/// the content a client sends, answering 413 <c>M_TOO_LARGE</c> beyond it. Content is therefore kept under
/// <see cref="ContentBudget"/>, which leaves several kilobytes for the envelope.
/// </summary>
internal static class EventSize
{
    public const int MaxEventBytes = 65_536;

    /// <summary>The most content bytes one event is given.</summary>
    public const int ContentBudget = 60_000;

    /// <summary>Bytes of <paramref name="node"/> as canonical JSON (sorted keys, no white space, UTF-8).</summary>
    public static int CanonicalBytes(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var n = 2 + Math.Max(0, o.Count - 1);
                foreach (var (key, value) in o)
                {
                    n += StringBytes(key) + 1 + CanonicalBytes(value);
                }

                return n;
            case JsonArray a:
                var m = 2 + Math.Max(0, a.Count - 1);
                foreach (var item in a)
                {
                    m += CanonicalBytes(item);
                }

                return m;
            case JsonValue v when v.TryGetValue(out string? text):
                return StringBytes(text);
            case null:
                return 4;
            default:
                return node.ToJsonString().Length;
        }
    }

    private static int StringBytes(string text) => 2 + MessageSplitter.Measure(text, TextMeasure.JsonUtf8Bytes);

    /// <summary>
    /// The message content as one event, or, when too large, as several in reading order: the text cut on paragraph,
    /// line and word boundaries (HTML between words and tags, its open elements closed and reopened). Every part keeps
    /// the label field, and parts after the first repeat the visible label marker so that no part reaches a reader
    /// unmarked; only the first keeps a reply relation. Null when a part would still be too large (nothing to cut).
    /// </summary>
    public static IReadOnlyList<JsonObject>? SplitMessage(JsonObject content, string? label)
    {
        if (CanonicalBytes(content) <= ContentBudget)
        {
            return [content];
        }

        var body = content["body"]?.GetValue<string>() ?? "";
        var html = content["formatted_body"]?.GetValue<string>();
        var marker = string.IsNullOrEmpty(label) ? "" : "[" + label + "] ";
        var htmlMarker = marker.Length == 0 ? "" : WebUtility.HtmlEncode(marker);
        var shell = (JsonObject)content.DeepClone();
        shell["body"] = "";
        if (html is not null)
        {
            shell["formatted_body"] = "";
        }

        var room = ContentBudget - CanonicalBytes(shell) - StringBytes(htmlMarker) - StringBytes(marker);
        if (room < 1024)
        {
            return null;
        }

        List<(string Body, string? Html)> parts;
        if (html is null)
        {
            parts = [.. MessageSplitter.Split(body, room, TextMeasure.JsonUtf8Bytes).Select(p => (p, (string?)null))];
        }
        else
        {
            // The body of each part is read from its HTML, so that both say the same thing; it is never longer.
            parts = [.. HtmlSplitter.Split(html, room / 2).Select(p => (HtmlSplitter.ToPlainText(p), (string?)p))];
        }

        var events = new List<JsonObject>(parts.Count);
        for (var i = 0; i < parts.Count; i++)
        {
            var part = (JsonObject)content.DeepClone();
            var (partBody, partHtml) = parts[i];
            var needsMarker = i > 0 && marker.Length > 0 && !partBody.StartsWith(marker, StringComparison.Ordinal);
            part["body"] = needsMarker ? marker + partBody : partBody;
            if (partHtml is not null)
            {
                part["formatted_body"] = needsMarker ? htmlMarker + partHtml : partHtml;
            }

            if (i > 0)
            {
                // Later parts reply to nothing, but stay in the thread the first part is in.
                if (part["m.relates_to"] is JsonObject relates && relates["rel_type"]?.GetValue<string>() == "m.thread")
                {
                    relates["is_falling_back"] = true;
                }
                else
                {
                    part.Remove("m.relates_to");
                }
            }

            if (CanonicalBytes(part) > ContentBudget)
            {
                return null;
            }

            events.Add(part);
        }

        return events;
    }
}
