using AngleSharp.Dom;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Sanitised HTML to XEP-0393 styled plain text, the body an XMPP client shows: *bold*, _italic_, ~strike~, `code`,
/// ``` blocks and &gt; quotes; lists, headings, links and tables become readable text.
/// </summary>
public sealed class HtmlToStyling : HtmlTextRenderer
{
    protected override string Render(INode node)
    {
        if (node is IText text)
        {
            // XEP-0393 has no escapes: a line that would open a quote or a code block keeps a leading space instead.
            var t = Blocks.TextOf(text);
            return (t.StartsWith('>') || t.StartsWith("```", StringComparison.Ordinal)) && Blocks.StartsLine(text) ? " " + t : t;
        }

        if (node is not IElement el)
        {
            return "";
        }

        switch (el.LocalName)
        {
            case "br":
                return "\n";
            case "p" or "div" or "details" or "summary" or "caption":
                return Blocks.Block(Render(el.ChildNodes).Trim('\n').TrimEnd());
            case "strong" or "b":
                return Blocks.Within(el, "strong", "b") ? Render(el.ChildNodes) : Span(Render(el.ChildNodes), "*");
            case "em" or "i":
                return Blocks.Within(el, "em", "i") ? Render(el.ChildNodes) : Span(Render(el.ChildNodes), "_");
            case "del" or "s" or "strike":
                return Blocks.Within(el, "del", "s", "strike") ? Render(el.ChildNodes) : Span(Render(el.ChildNodes), "~");
            case "code":
                return el.TextContent.Contains('`') || el.TextContent.Contains('\n') ? el.TextContent : Span(el.TextContent, "`");
            case "pre":
                return Blocks.Block("```" + (Blocks.Language(el) ?? "") + "\n" + el.TextContent.TrimEnd('\n') + "\n```");
            case "blockquote":
                return Blocks.Block(Blocks.Prefix(Blocks.Tidy(Render(el.ChildNodes)), "> ", "> "));
            case "ul" or "ol":
                return Blocks.Block(List(el));
            case "h1" or "h2" or "h3" or "h4" or "h5" or "h6":
                return Blocks.Block(Span(Render(el.ChildNodes).Replace('\n', ' '), "*"));
            case "hr":
                return Blocks.Block("───");
            case "a":
                var inner = Render(el.ChildNodes).Trim();
                var href = el.GetAttribute("href");
                return string.IsNullOrEmpty(href) || href.StartsWith("mxc:", StringComparison.OrdinalIgnoreCase) || inner == href || inner == href.Replace("mailto:", "", StringComparison.Ordinal)
                    ? inner
                    : inner.Length == 0 ? href : $"{inner} <{href}>";
            case "img":
                return el.GetAttribute("alt") ?? el.GetAttribute("title") ?? "image";
            case "table":
                return Blocks.Block(string.Join('\n', el.QuerySelectorAll("tr").Select(tr =>
                    string.Join(" | ", tr.Children.Where(c => c.LocalName is "td" or "th").Select(c => Render(c.ChildNodes).Replace('\n', ' ').Trim())))));
            default:
                return Render(el.ChildNodes);
        }
    }

    private string List(IElement list)
    {
        var ordered = list.LocalName == "ol";
        var number = ordered && int.TryParse(list.GetAttribute("start"), out var start) ? start : 1;
        return string.Join('\n', list.Children.Where(c => c.LocalName == "li").Select(li =>
        {
            var marker = ordered ? $"{number++}. " : "• ";
            var content = Blocks.Tidy(Render(li.ChildNodes)).Replace("\n\n", "\n", StringComparison.Ordinal);
            return Blocks.Prefix(content, marker, new string(' ', marker.Length));
        }));
    }

    /// <summary>A XEP-0393 span: only within one line, and with no space just inside the directives.</summary>
    private static string Span(string inner, string directive) =>
        inner.Contains('\n') || inner.Trim().Length == 0 ? inner : Blocks.Wrap(inner, directive);
}
