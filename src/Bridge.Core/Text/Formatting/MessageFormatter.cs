using Bridge.Core.Model;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Converts a delivered message's text between the three networks' formats: HTML for Matrix, Markdown for Mattermost,
/// XEP-0393 styling for XMPP. It runs at delivery, on the text the policy has already labelled, and never before
/// classification, so formatting can never change a label.
/// </summary>
public sealed class MessageFormatter
{
    // Built on first use: the converters load AngleSharp, the HTML sanitiser and Markdig, whose code and type data
    // then stay resident, and a deployment whose messages never change format (XMPP to XMPP, Markdown to Markdown)
    // never needs them. docs/performance.md, "Memory: what the idle daemon is made of".
    private readonly Lazy<Converters> _converters = new(() => new Converters(), LazyThreadSafetyMode.ExecutionAndPublication);

    public SafeHtml Safe => _converters.Value.Safe;

    /// <summary>Whether the converters have been built (only a test looks).</summary>
    internal bool ConvertersBuilt => _converters.IsValueCreated;

    /// <summary>
    /// Sanitised HTML for a Matrix <c>formatted_body</c>; null when the text needs none. With a <paramref name="label"/>
    /// the converted HTML shows it at the start, as the policy made the text show it (a marker written as link text,
    /// <c>[CUI](url)</c>, would otherwise render as the bare word).
    /// </summary>
    public string? Html(string text, string? html, TextFormat format, string? label = null)
    {
        if (html is { Length: > 0 })
        {
            return html;
        }

        if (text.Length == 0 || format is not (TextFormat.Markdown or TextFormat.Styling))
        {
            return null;
        }

        var c = _converters.Value;
        var converted = format == TextFormat.Markdown ? c.Markdown.Convert(text) : c.Styling.Convert(text);
        return converted is null || LabelView.Shows(c.Visible.Of(converted), label) ? converted : $"[{SafeHtml.Escape(label!)}] {converted}";
    }

    /// <summary>Mattermost Markdown: Markdown as it came, else from the HTML, else styling read and rewritten.</summary>
    public string Markdown(string text, string? html, TextFormat format, string? label = null)
    {
        if (format == TextFormat.Markdown && html is null)
        {
            return text;
        }

        if (html is not { Length: > 0 } && format != TextFormat.Styling)
        {
            return text;
        }

        var c = _converters.Value;
        var source = html is { Length: > 0 } ? html : c.Styling.Convert(text);
        return source is null ? text
            : LabelView.Shows(c.Visible.Of(source), label) ? c.ToMarkdown.Convert(source)
            : $"[{label}] {c.ToMarkdown.Convert(source)}";
    }

    /// <summary>XEP-0393 styled text for an XMPP body.</summary>
    public string Styling(string text, string? html, TextFormat format, string? label = null)
    {
        if (format == TextFormat.Styling && html is null)
        {
            return text;
        }

        if (html is not { Length: > 0 } && format != TextFormat.Markdown)
        {
            return text;
        }

        var c = _converters.Value;
        var source = html is { Length: > 0 } ? html : c.Markdown.Convert(text);
        return source is null ? text
            : LabelView.Shows(c.Visible.Of(source), label) ? c.ToStyling.Convert(source)
            : $"[{label}] {c.ToStyling.Convert(source)}";
    }

    /// <summary>The HTML and Markdown machinery, all built together on the first message that needs any of it.</summary>
    private sealed class Converters
    {
        public Converters()
        {
            Safe = new SafeHtml();
            Markdown = new MarkdownToHtml(Safe);
            Styling = new StylingToHtml(Safe);
        }

        public SafeHtml Safe { get; }

        public MarkdownToHtml Markdown { get; }

        public StylingToHtml Styling { get; }

        public HtmlToMarkdown ToMarkdown { get; } = new();

        public HtmlToStyling ToStyling { get; } = new();

        public VisibleText Visible { get; } = new();
    }
}
