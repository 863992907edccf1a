using Bridge.Core.Model;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Converts a delivered message's text between the three networks' formats: HTML for Matrix, Markdown for Mattermost,
/// XEP-0393 styling for XMPP. It runs at delivery, on the text the policy has already labelled, and never before
/// classification, so formatting can never change a label.
/// </summary>
public sealed class MessageFormatter
{
    private readonly MarkdownToHtml _markdown;
    private readonly StylingToHtml _styling;
    private readonly HtmlToMarkdown _toMarkdown = new();
    private readonly HtmlToStyling _toStyling = new();
    private readonly VisibleText _visible = new();

    public MessageFormatter()
    {
        Safe = new SafeHtml();
        _markdown = new MarkdownToHtml(Safe);
        _styling = new StylingToHtml(Safe);
    }

    public SafeHtml Safe { get; }

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
                TextFormat.Markdown => _markdown.Convert(text),
                TextFormat.Styling => _styling.Convert(text),
                _ => null,
            };
        return converted is null || LabelView.Shows(_visible.Of(converted), label) ? converted : $"[{SafeHtml.Escape(label!)}] {converted}";
    }

    /// <summary>Mattermost Markdown: Markdown as it came, else from the HTML, else styling read and rewritten.</summary>
    public string Markdown(string text, string? html, TextFormat format, string? label = null)
    {
        if (format == TextFormat.Markdown && html is null)
        {
            return text;
        }

        var source = html is { Length: > 0 } ? html : format == TextFormat.Styling ? _styling.Convert(text) : null;
        return source is null ? text
            : LabelView.Shows(_visible.Of(source), label) ? _toMarkdown.Convert(source)
            : $"[{label}] {_toMarkdown.Convert(source)}";
    }

    /// <summary>XEP-0393 styled text for an XMPP body.</summary>
    public string Styling(string text, string? html, TextFormat format, string? label = null)
    {
        if (format == TextFormat.Styling && html is null)
        {
            return text;
        }

        var source = html is { Length: > 0 } ? html : format == TextFormat.Markdown ? _markdown.Convert(text) : null;
        return source is null ? text
            : LabelView.Shows(_visible.Of(source), label) ? _toStyling.Convert(source)
            : $"[{label}] {_toStyling.Convert(source)}";
    }
}
