using AngleSharp.Html.Parser;
using Bridge.Core.Model;
using Bridge.Core.Text.Formatting;
using CsCheck;

namespace Bridge.Policy.Tests.Formatting;

/// <summary>Properties of the converters over generated Markdown, styling and hostile HTML.</summary>
public sealed class FormattingPropertyTests
{
    private readonly MessageFormatter _f = new();

    private static readonly Gen<string> Word = Gen.OneOf(
        Gen.OneOf<string>("alpha", "beta", "CUI", "[CUI]", "x", "2", "a_b", "snake_case", "1.", "-", "*", "_", "~", "`", "\\", "<b>", "&amp;", "<script>", "[", "]", "(", ")", "#", ">", "|", "https://example.org/p?q=1", "javascript:alert(1)", "é", "\u200b"),
        Gen.String[Gen.Char["a-z *_~`[]()<>#|\\!&"], 1, 6]);

    /// <summary>
    /// Words of real messages: prose, a marker, code-ish names, numbers, punctuation people type, addresses. The
    /// round trip is promised for these; punctuation soup (<see cref="Word"/>) is only promised to stay safe.
    /// </summary>
    private static readonly Gen<string> RealWord = Gen.OneOf(
        Gen.OneOf<string>("alpha", "beta", "CUI", "[CUI]", "[SECRET]", "x", "2", "a_b", "snake_case", "v1.2", "well-known", "(see", "this)", "done.", "ok,", "why?", "2 * 3", "a < b", "R&D", "#1", "50%", "https://example.org/p?q=1", "me@example.org", "é", "日本"),
        Gen.String[Gen.Char["a-z"], 1, 8]);

    private static readonly Gen<string> RealInline = Gen.OneOf(
        RealWord,
        RealWord.Select(w => $"**{w}**"),
        RealWord.Select(w => $"*{w}*"),
        RealWord.Select(w => $"~~{w}~~"),
        RealWord.Select(w => $"`{w}`"),
        RealWord.Select(w => $"[{w}](https://example.org/{w.Length})"),
        RealWord.Select(w => $"[{w}](javascript:alert({w.Length}))"));

    private static readonly Gen<string> RealLine = RealInline.Array[1, 5].Select(parts => string.Join(' ', parts));

    private static readonly Gen<string> RealBlock = Gen.OneOf(
        RealLine,
        RealLine.Select(l => "> " + l),
        RealLine.Array[1, 3].Select(ls => string.Join('\n', ls.Select(l => "- " + l))),
        RealLine.Array[1, 3].Select(ls => string.Join('\n', ls.Select((l, i) => $"{i + 1}. " + l))),
        RealLine.Select(l => "```\n" + l + "\n```"),
        RealLine.Select(l => "## " + l),
        Gen.Select(RealWord, RealWord, (a, b) => $"| {a} | {b} |\n| --- | --- |\n| {b} | {a} |"));

    private static readonly Gen<string> RealMarkdown = RealBlock.Array[1, 4].Select(bs => string.Join("\n\n", bs));

    private static readonly Gen<string> Inline = Gen.OneOf(
        Word,
        Word.Select(w => $"**{w}**"),
        Word.Select(w => $"*{w}*"),
        Word.Select(w => $"_{w}_"),
        Word.Select(w => $"~~{w}~~"),
        Word.Select(w => $"`{w}`"),
        Word.Select(w => $"[{w}](https://example.org/{w.Length})"),
        Word.Select(w => $"[{w}](javascript:alert({w.Length}))"));

    private static readonly Gen<string> Line = Inline.Array[1, 5].Select(parts => string.Join(' ', parts));

    private static readonly Gen<string> Block = Gen.OneOf(
        Line,
        Line.Select(l => "> " + l),
        Line.Array[1, 3].Select(ls => string.Join('\n', ls.Select(l => "- " + l))),
        Line.Array[1, 3].Select(ls => string.Join('\n', ls.Select((l, i) => $"{i + 1}. " + l))),
        Line.Select(l => "```\n" + l + "\n```"),
        Line.Select(l => "## " + l),
        Gen.Select(Word, Word, (a, b) => $"| {a} | {b} |\n| --- | --- |\n| {b} | {a} |"));

    private static readonly Gen<string> MarkdownText = Block.Array[1, 4].Select(bs => string.Join("\n\n", bs));

    [Fact]
    public void Markdown_round_trip_is_stable_after_the_first_pass()
    {
        RealMarkdown.Sample(markdown =>
        {
            var first = RoundTrip(markdown);
            var second = RoundTrip(first);
            Assert.Equal(first, second);
        }, iter: 2000);
    }

    [Fact]
    public void Round_trip_never_grows_after_the_first_pass()
    {
        RealMarkdown.Sample(markdown =>
        {
            var first = RoundTrip(markdown);
            Assert.True(RoundTrip(first).Length <= first.Length);
        }, iter: 1000);
    }

    [Fact]
    public void Markdown_never_becomes_active_html()
    {
        Gen.OneOf(MarkdownText, Gen.String).Sample(markdown =>
        {
            var html = _f.Html(markdown, null, TextFormat.Markdown);
            if (html is not null)
            {
                Assert.Null(ActiveContent.Find(html));
            }
        }, iter: 2000);
    }

    private static readonly Gen<string> Attribute = Gen.OneOf<string>(
        " onclick=\"alert(1)\"", " onerror=alert(1)", " href=\"javascript:alert(1)\"", " href=\" JaVaScRiPt:x\"", " href=\"https://example.org\"",
        " src=\"https://evil.example/x.png\"", " src=\"mxc://hs/abc\"", " style=\"background:url(x)\"", " class=\"language-cs\"", " data-mx-color=\"#ff0000\"", "");

    private static readonly Gen<string> Tag = Gen.OneOf<string>(
        "p", "b", "strong", "em", "a", "img", "script", "style", "iframe", "svg", "math", "table", "tr", "td", "ul", "li", "blockquote", "pre", "code",
        "details", "object", "form", "input", "mx-reply", "span", "font", "h1", "br");

    private static readonly Gen<string> HostileHtml = HtmlOf(3);

    private static Gen<string> HtmlOf(int depth) => depth == 0
        ? Gen.OneOf(Word, Gen.String[0, 8])
        : Gen.OneOf(
            Word,
            Gen.Select(Tag, Attribute, HtmlOf(depth - 1).Array[0, 3], (t, a, inner) => $"<{t}{a}>{string.Concat(inner)}</{t}>"),
            Gen.Select(Tag, Attribute, (t, a) => $"<{t}{a}>"),
            Gen.String[0, 8]);

    [Fact]
    public void Sanitiser_output_is_well_formed_and_free_of_active_content()
    {
        var parser = new HtmlParser();
        HostileHtml.Sample(html =>
        {
            var clean = _f.Safe.Sanitise(html);
            Assert.Null(ActiveContent.Find(clean));
            // Well-formed: sanitising again changes nothing, and a parser serialises it back to the same text.
            Assert.Equal(clean, _f.Safe.Sanitise(clean));
            Assert.Equal(clean, parser.ParseDocument("<body>" + clean + "</body>").Body!.InnerHtml.Trim());
        }, iter: 3000);
    }

    [Fact]
    public void Html_and_styling_conversions_never_throw_and_stay_safe()
    {
        Gen.OneOf(HostileHtml, MarkdownText).Sample(input =>
        {
            var clean = _f.Safe.Sanitise(input);
            _ = _f.Markdown("", clean, TextFormat.Plain);
            var styled = _f.Styling("", clean, TextFormat.Plain);
            var back = _f.Html(styled, null, TextFormat.Styling);
            if (back is not null)
            {
                Assert.Null(ActiveContent.Find(back));
            }
        }, iter: 2000);
    }

    [Fact]
    public void Styling_round_trip_is_stable_after_the_first_pass()
    {
        var styledLine = Gen.OneOf(RealWord, RealWord.Select(w => $"*{w}*"), RealWord.Select(w => $"_{w}_"), RealWord.Select(w => $"~{w}~"), RealWord.Select(w => $"`{w}`"))
            .Array[1, 4].Select(p => string.Join(' ', p));
        var styled = Gen.OneOf(styledLine, styledLine.Select(l => "> " + l), styledLine.Select(l => "```\n" + l + "\n```")).Array[1, 4]
            .Select(b => string.Join('\n', b));
        styled.Sample(text =>
        {
            var first = StylingRoundTrip(text);
            Assert.True(first == StylingRoundTrip(first), $"{text}\n=> {_f.Html(text, null, TextFormat.Styling)}\n=> {first}\n=> {_f.Html(first, null, TextFormat.Styling)}\n=> {StylingRoundTrip(first)}");
        }, iter: 2000);
    }

    private static readonly Bridge.Core.Policy.Labels.LabelClassifier Classifier =
        Bridge.Core.Policy.Labels.LabelOrder.Create(["UNCLASSIFIED", "CUI", "SECRET"]).Classifier;

    /// <summary>
    /// The label is decided on the source text before any conversion; this checks that what each destination then
    /// shows still reads as at least that label, so no reader sees a lower one than the message got.
    /// </summary>
    [Fact]
    public void Converted_text_never_reads_as_a_lower_label()
    {
        var marker = Gen.OneOf<string>("[CUI] ", "[SECRET] ", "[CUI](https://example.org) ", "[SECRET](javascript:x) ", "[UNCLASSIFIED] ", "**[CUI]** ", "> [SECRET] ", "`[CUI]` ", "");
        Gen.Select(marker, RealMarkdown, (m, md) => m + md).Sample(text =>
        {
            var source = Classifier.Classify([], [text], [], 0).Rank;
            var label = Classifier.Labels.Names[source];
            // What the policy delivers: the label shown at the start, unless a token of it starts the text already.
            if (!text.TrimStart(' ', '*', '_', '~', '`', '>').StartsWith($"[{label}]", StringComparison.OrdinalIgnoreCase))
            {
                text = $"[{label}] {text}";
            }

            var html = _f.Html(text, null, TextFormat.Markdown, label);
            var markdownBack = html is null ? text : _f.Markdown("", html, TextFormat.Plain, label);
            var styled = _f.Styling(text, null, TextFormat.Markdown, label);
            Assert.True(Classifier.Classify([], [], [html ?? SafeHtml.Escape(text)], 0).Rank >= source, "Matrix HTML: " + html);
            Assert.True(Classifier.Classify([], [markdownBack], [], 0).Rank >= source, "Mattermost: " + markdownBack);
            Assert.True(Classifier.Classify([], [styled], [], 0).Rank >= source, "XMPP: " + styled);
        }, iter: 2000);
    }

    private string RoundTrip(string markdown) =>
        _f.Html(markdown, null, TextFormat.Markdown) is { } html ? _f.Markdown("", html, TextFormat.Plain) : markdown;

    private string StylingRoundTrip(string styled) =>
        _f.Html(styled, null, TextFormat.Styling) is { } html ? _f.Styling("", html, TextFormat.Plain) : styled;
}
