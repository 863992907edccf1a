using Bridge.Core.Media;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Core.Policy.Labels;
using Bridge.Matrix.Formatting;
using Bridge.Xmpp;
using CoreMentions = Bridge.Core.Policy.Content.MentionNeutraliser;
using MattermostMentions = Bridge.Mattermost.Text.MentionNeutraliser;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// Text and HTML conversion in every direction the bridge has, on one mutated input: Matrix HTML in (sanitiser, reply
/// fallback, the core's visible text for labels, the plain-text body), the core's marking (label marker, neutralised
/// mentions), Matrix content out (HTML as given, or text escaped into HTML for a translation; then split to the event
/// size), Mattermost text out (mention neutraliser) and XMPP text out (characters XML cannot carry removed).
/// Output is always well-formed: HTML safe and balanced, JSON parses back, XML writes.
/// </summary>
public sealed class ConversionFuzzTests
{
    private static readonly MatrixHtml Html = new();

    private static readonly string[] Corpus =
    [
        "<p>Hello <b>bold</b> @room and @all, <a href=\"https://example.org/@here\">link</a></p><ul><li>one</li></ul>",
        "<mx-reply><blockquote>[SECRET] fallback</blockquote></mx-reply><p>[CUI] reply ```@channel``` done</p>",
        "plain text with <angle> brackets & ampersands \ud83d\ude00 and a long wooooooooooooooooooooooord",
        "<pre><code>x &lt; y @everyone</code></pre><blockquote>&gt; quoted</blockquote><img src=\"mxc://hs/abc\" alt=\"[TOP SECRET]\">",
    ];

    private static readonly string[] Tokens =
    [
        "<", ">", "</", "/>", "\"", "'", "=", "&", "&amp;", "&#0;", "&#x110000;", "&#xd800;", "&nbsp;", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">", "<svg onload=alert(1)>", "<style>*{}</style>", "<!--", "-->", "<p>", "</p>", "<b>", "</b>", "<li>", "<mx-reply>", "</mx-reply>",
        " style=\"color:red\"", "<br>", "@all", "@room", "@here", "@channel", "@everyone", "@@all", "x@all", "```", "[CUI]", "[SECRET]", "\n", "\u0000", "\u0007", "\ud83d\ude00", "\ud800",
        "\u2060", "\u202e",
    ];

    private static readonly Gen<(string Input, bool Translated, string Label)> Inputs = Gen.Select(
        Gen.Frequency((6, Mutator.Strings(Corpus, Tokens)), (2, Mutator.Tokens(Tokens, 60)), (1, Mutator.Random(80))),
        Gen.Bool,
        Gen.OneOf("CUI", "TOP SECRET", "<b>&\""));

    [Fact]
    public void Every_conversion_gives_well_formed_safe_output() =>
        FuzzRunner.Run("conversion", Inputs, input => Convert(input.Input, input.Translated, input.Label), i => Mutator.Show(i.Input) + (i.Translated ? " translated" : "") + " label " + i.Label);

    private static bool Convert(string raw, bool translated, string label)
    {
        // Text reaches the bridge decoded from JSON or XML, neither of which carries a lone surrogate.
        var input = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(raw));
        // Matrix in: the sanitised HTML and the body a client without HTML shows.
        var clean = Html.Sanitise(input);
        HtmlChecks.AssertSafe(clean);
        var plain = HtmlSplitter.ToPlainText(clean);
        _ = MatrixHtml.StripPlainReplyFallback(input);
        _ = HtmlVisibleText.Of(input);
        _ = HtmlVisibleText.Of(clean);

        // The core: label marker in front (as CompiledPolicy does), channel-wide mentions neutralised in text and HTML.
        var markedHtml = CoreMentions.Neutralise($"[{WebUtility.HtmlEncode(label)}] {clean}");
        var markedText = CoreMentions.Neutralise($"[{label}] {plain}");
        Assert.Equal(markedText, CoreMentions.Neutralise(markedText));
        HtmlChecks.AssertSafe(markedHtml);

        // Matrix out: the content, split to the event size; every part safe, balanced where split, and JSON that reads back.
        var e = new BridgeEvent
        {
            NetworkId = "xmpp-a",
            ChannelId = "c",
            NativeId = "n1",
            Kind = BridgeEventKind.Message,
            Sender = new PersonRef { NetworkId = "xmpp-a", UserId = "u", DisplayName = "u" },
            Text = markedText,
            Html = translated ? null : markedHtml,
            Timestamp = DateTimeOffset.UnixEpoch,
        };
        var request = new DeliveryRequest
        {
            OutboxId = 1,
            LinkId = "l",
            Destination = new ChannelRef("matrix", "!r:hs"),
            Event = e,
            Label = label,
            // The original of a translation is the source's HTML as the core holds it: sanitised on the way in.
            Translation = translated ? new MessageTranslation(markedText, markedHtml, "de", "en", "engine", Translated: true) : null,
        };
        var content = OutboundContent.Message(request, "org.example.label", [AttachmentNotice.InMessage(new Attachment { Name = input, ContentType = "text/plain", Url = "https://x/" + input }, MediaFailure.NotFetchable, 1024)]);
        var json = content.ToJsonString();
        var back = JsonNode.Parse(json)!.AsObject();
        Assert.Equal(content["body"]!.GetValue<string>(), back["body"]!.GetValue<string>());
        var parts = EventSize.SplitMessage(content, label) ?? [];
        foreach (var part in parts)
        {
            if (part["formatted_body"]?.GetValue<string>() is { } partHtml)
            {
                HtmlChecks.AssertSafe(partHtml);
            }

            _ = JsonNode.Parse(part.ToJsonString());
        }

        // Mattermost out: neutralising twice changes nothing more.
        var mm = MattermostMentions.Neutralise(markedText);
        Assert.Equal(mm, MattermostMentions.Neutralise(mm));

        // XMPP out: whatever the text, the body element writes.
        using (var writer = XmlWriter.Create(new System.Text.StringBuilder(), new XmlWriterSettings { ConformanceLevel = ConformanceLevel.Fragment, CheckCharacters = true }))
        {
            writer.WriteElementString("body", XmppConnector.CleanText(markedText));
        }

        return clean.Length > 0 && plain.Length > 0;
    }
}
