using Bridge.Core.Model;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Converts a delivered message's text between the three networks' formats: HTML for Matrix, Markdown for Mattermost,
/// XEP-0393 styling for XMPP. It runs at delivery, on the text the policy has already labelled, and never before
/// classification, so formatting can never change a label.
/// </summary>
/// <remarks>
/// The converters are built at first use: the HTML sanitiser and the Markdown pipeline
/// take a few hundred milliseconds of CPU in a cold process, which a start would otherwise spend before its first
/// message, and a message already in its network's own format (XMPP to XMPP) needs none of them.
/// </remarks>
public sealed class MessageFormatter
{
    private readonly Lazy<SafeHtml> _safe = new(() => new SafeHtml());
    private readonly Lazy<MarkdownToHtml> _markdown;
    private readonly Lazy<StylingToHtml> _styling;
    private readonly Lazy<HtmlToMarkdown> _toMarkdown = new(() => new HtmlToMarkdown());
    private readonly Lazy<HtmlToStyling> _toStyling = new(() => new HtmlToStyling());
    private readonly Lazy<VisibleText> _visible = new(() => new VisibleText());

    public MessageFormatter()
    {
        _markdown = new(() => new MarkdownToHtml(_safe.Value));
        _styling = new(() => new StylingToHtml(_safe.Value));
    }

    public SafeHtml Safe => _safe.Value;

    /// <summary>Whether any converter has been built yet (a message already in its destination's format builds none).</summary>
    internal bool ConvertersBuilt =>
        _safe.IsValueCreated || _markdown.IsValueCreated || _styling.IsValueCreated || _toMarkdown.IsValueCreated || _toStyling.IsValueCreated || _visible.IsValueCreated;

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

        var converted = text.Length == 0 ? null
            : format switch
            {
                TextFormat.Markdown => _markdown.Value.Convert(text),
                TextFormat.Styling => _styling.Value.Convert(text),
                _ => null,
            };
        return converted is null || LabelView.Shows(_visible.Value.Of(converted), label) ? converted : $"[{SafeHtml.Escape(label!)}] {converted}";
    }

    /// <summary>Mattermost Markdown: Markdown as it came, else from the HTML, else styling read and rewritten.</summary>
    public string Markdown(string text, string? html, TextFormat format, string? label = null)
    {
        if (format == TextFormat.Markdown && html is null)
        {
            return text;
        }

        var source = html is { Length: > 0 } ? html : format == TextFormat.Styling ? _styling.Value.Convert(text) : null;
        return source is null ? text
            : LabelView.Shows(_visible.Value.Of(source), label) ? _toMarkdown.Value.Convert(source)
            : $"[{label}] {_toMarkdown.Value.Convert(source)}";
    }

    /// <summary>XEP-0393 styled text for an XMPP body.</summary>
    public string Styling(string text, string? html, TextFormat format, string? label = null)
    {
        if (format == TextFormat.Styling && html is null)
        {
            return text;
        }

        var source = html is { Length: > 0 } ? html : format == TextFormat.Markdown ? _markdown.Value.Convert(text) : null;
        return source is null ? text
            : LabelView.Shows(_visible.Value.Of(source), label) ? _toStyling.Value.Convert(source)
            : $"[{label}] {_toStyling.Value.Convert(source)}";
    }
}
