using System.Text;
using AngleSharp.Dom;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Sanitised HTML (Matrix <c>formatted_body</c>) to Mattermost Markdown: emphasis, strike, code, fenced blocks, quotes,
/// lists, links, headings and tables map one to one; underline, colours and spoilers become their text.
/// Text that Markdown would read as markup is escaped, so converting the result back gives the same Markdown.
/// </summary>
public sealed class HtmlToMarkdown : HtmlTextRenderer
{
    protected override string Render(INode node)
    {
        if (node is IText text)
        {
            return Blocks.TextOf(text) is { Length: > 0 } t ? EscapeText(t, Blocks.StartsLine(text), InLink(text)) : "";
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
                return Blocks.Block(Render(el.ChildNodes).Trim('\n', ' '));
            // The same emphasis inside itself adds nothing and its delimiters would run together: only the outer one is written.
            case "strong" or "b":
                return Blocks.Within(el, "strong", "b") ? Render(el.ChildNodes) : Blocks.Wrap(Render(el.ChildNodes), "**");
            case "em" or "i":
                return Blocks.Within(el, "em", "i") ? Render(el.ChildNodes) : Blocks.Wrap(Render(el.ChildNodes), "*");
            case "del" or "s" or "strike":
                return Blocks.Within(el, "del", "s", "strike") ? Render(el.ChildNodes) : Blocks.Wrap(Render(el.ChildNodes), "~~");
            case "code":
                return Blocks.InlineCode(el.TextContent);
            case "pre":
                return Blocks.Block(Blocks.Fence(el.TextContent, Blocks.Language(el)));
            case "blockquote":
                return Blocks.Block(Blocks.Prefix(Blocks.Tidy(Render(el.ChildNodes)), "> ", "> "));
            case "ul" or "ol":
                return Blocks.Block(List(el));
            case "h1" or "h2" or "h3" or "h4" or "h5" or "h6":
                return Blocks.Block(new string('#', el.LocalName[1] - '0') + " " + Heading(Render(el.ChildNodes).Replace('\n', ' ').Trim()));
            case "hr":
                // Not "---": after a list marker ("- ---") that is itself a thematic break and the item would vanish.
                return Blocks.Block("***");
            case "a":
                return Link(el);
            case "img":
                return EscapeText(el.GetAttribute("alt") ?? el.GetAttribute("title") ?? "image");
            case "table":
                return Blocks.Block(Table(el));
            default:
                return Render(el.ChildNodes);
        }
    }

    /// <summary>Trailing #s would read as the heading's optional closing sequence.</summary>
    private static string Heading(string text)
    {
        var end = text.Length;
        while (end > 0 && text[end - 1] == '#')
        {
            end--;
        }

        return end == text.Length || (end > 0 && text[end - 1] == '\\') ? text : text[..end] + "\\" + text[end..];
    }

    private string Link(IElement el)
    {
        var inner = Render(el.ChildNodes).Replace('\n', ' ').Trim();
        var href = el.GetAttribute("href");
        if (string.IsNullOrEmpty(href) || href.StartsWith("mxc:", StringComparison.OrdinalIgnoreCase))
        {
            return inner;
        }

        if (inner.Length == 0 || string.Equals(inner, EscapeText(href), StringComparison.Ordinal) || string.Equals(el.TextContent, href, StringComparison.Ordinal))
        {
            return href.IndexOfAny([' ', '<', '>']) >= 0 ? $"<{href.Replace(" ", "%20", StringComparison.Ordinal)}>" : href;
        }

        var target = href.IndexOfAny([' ', '(', ')', '<', '>']) >= 0 ? "<" + href.Replace(" ", "%20", StringComparison.Ordinal).Replace("<", "%3C", StringComparison.Ordinal).Replace(">", "%3E", StringComparison.Ordinal) + ">" : href;
        return $"[{inner}]({target})";
    }

    private string List(IElement list)
    {
        var ordered = list.LocalName == "ol";
        var number = ordered && int.TryParse(list.GetAttribute("start"), out var start) ? start : 1;
        var items = new List<string>();
        foreach (var li in list.Children.Where(c => c.LocalName == "li"))
        {
            var marker = ordered ? $"{number++}. " : "- ";
            var content = Blocks.Tidy(Render(li.ChildNodes));
            // A tight item (no paragraphs of its own) stays tight; blank lines would make the list loose.
            if (!li.Children.Any(c => c.LocalName is "p" or "pre" or "blockquote"))
            {
                content = content.Replace("\n\n", "\n", StringComparison.Ordinal);
            }

            items.Add(Blocks.Prefix(content.Length == 0 ? "" : content, marker, new string(' ', marker.Length)));
        }

        var loose = list.Children.Any(li => li.Children.Any(c => c.LocalName == "p"));
        return string.Join(loose ? "\n\n" : "\n", items);
    }

    private string Table(IElement table)
    {
        var rows = table.QuerySelectorAll("tr").Select(tr => tr.Children.Where(c => c.LocalName is "td" or "th")
            .Select(c => Render(c.ChildNodes).Replace('\n', ' ').Trim().Replace("|", "\\|", StringComparison.Ordinal)).ToList()).Where(r => r.Count > 0).ToList();
        if (rows.Count == 0)
        {
            return "";
        }

        var width = rows.Max(r => r.Count);
        var sb = new StringBuilder();
        for (var i = 0; i < rows.Count; i++)
        {
            var cells = rows[i].Concat(Enumerable.Repeat("", width - rows[i].Count));
            sb.Append("| ").Append(string.Join(" | ", cells)).Append(" |\n");
            if (i == 0)
            {
                sb.Append('|').Append(string.Concat(Enumerable.Repeat(" --- |", width))).Append('\n');
            }
        }

        return sb.ToString().TrimEnd('\n');
    }

    /// <summary>Backslash-escapes the characters that would start Markdown markup, so text stays text.</summary>
    private static bool InLink(INode node)
    {
        for (var parent = node.ParentElement; parent is not null; parent = parent.ParentElement)
        {
            if (parent.LocalName == "a")
            {
                // Only a link written as [text](address) has text in brackets.
                return parent.GetAttribute("href") is { Length: > 0 } href && !href.StartsWith("mxc:", StringComparison.OrdinalIgnoreCase);
            }
        }

        return false;
    }

    internal static string EscapeText(string text, bool startsLine = false, bool inLink = false)
    {
        var sb = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var atLineStart = (i == 0 && startsLine) || (i > 0 && text[i - 1] == '\n');
            if (c is '\\' or '*' or '_' or '`' or '~' or '<'
                || (c == ']' && i + 1 < text.Length && text[i + 1] is '(' or ':')
                || (inLink && c is '[' or ']')
                || (atLineStart && c is '#' or '>' or '+' or '-' or '=' or '|'))
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
