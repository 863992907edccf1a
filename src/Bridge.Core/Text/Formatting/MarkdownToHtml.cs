using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Mattermost Markdown to HTML through Markdig (pipe tables, fenced code, autolinks, strikethrough, newlines as line
/// breaks, as Mattermost shows them). Raw HTML in the Markdown is rendered as text, never as markup, and the result
/// goes through <see cref="SafeHtml"/>.
/// </summary>
public sealed class MarkdownToHtml(SafeHtml safe)
{
    private readonly MarkdownPipeline _pipeline = new MarkdownPipelineBuilder()
        .UsePipeTables()
        .UseEmphasisExtras(Markdig.Extensions.EmphasisExtras.EmphasisExtraOptions.Strikethrough)
        .UseAutoLinks()
        .UseSoftlineBreakAsHardlineBreak()
        .DisableHtml()
        .Build();

    /// <summary>The sanitised HTML of <paramref name="markdown"/>; null when it has no markup, so plain text stays plain.</summary>
    public string? Convert(string markdown)
    {
        var document = Markdown.Parse(markdown, _pipeline);
        if (IsPlain(document, markdown))
        {
            return null;
        }

        var html = safe.Sanitise(document.ToHtml(_pipeline));
        return html.Length == 0 ? null : html;
    }

    /// <summary>One paragraph of literal text with line breaks only, and nothing escaped: HTML would add nothing.</summary>
    private static bool IsPlain(MarkdownDocument document, string markdown)
    {
        if (markdown.Contains('\\') || markdown.Contains('&'))
        {
            return false;
        }

        if (document.Count == 0)
        {
            return true;
        }

        if (document.Count != 1 || document[0] is not ParagraphBlock { Inline: { } inline })
        {
            return false;
        }

        return inline.All(i => i is LiteralInline or LineBreakInline);
    }
}
