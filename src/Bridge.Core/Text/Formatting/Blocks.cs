using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;

namespace Bridge.Core.Text.Formatting;

/// <summary>Helpers shared by the HTML-to-text writers: block separation, prefixes, code fences, whitespace.</summary>
internal static partial class Blocks
{
    /// <summary>Marks a block: separated from its neighbours by a blank line (<see cref="Tidy"/> merges the runs).</summary>
    public static string Block(string content) => content.Length == 0 ? "" : "\n\n" + content + "\n\n";

    /// <summary>Collapses blank-line runs to one blank line and trims the ends.</summary>
    public static string Tidy(string text) => BlankRuns().Replace(TrailingSpace().Replace(text, "\n"), "\n\n").Trim('\n').TrimEnd();

    /// <summary>HTML whitespace outside <c>pre</c>: any run is one space.</summary>
    public static string Collapse(string text) => Whitespace().Replace(text, " ");

    private static readonly HashSet<string> Inline = new(["a", "strong", "b", "em", "i", "del", "s", "strike", "code", "span", "font", "u", "sup", "sub", "img", "br"], StringComparer.Ordinal);

    /// <summary>
    /// A text node's visible text: whitespace collapsed, none next to a line break, none between blocks (the
    /// newline a serialiser puts between &lt;/p&gt; and &lt;p&gt; is not content).
    /// </summary>
    public static string TextOf(AngleSharp.Dom.IText text)
    {
        var data = Collapse(text.Data);
        var previous = text.PreviousSibling as IElement;
        var next = text.NextSibling as IElement;
        if (string.IsNullOrWhiteSpace(data)
            && ((text.PreviousSibling is null || (previous is not null && !Inline.Contains(previous.LocalName)))
                || (text.NextSibling is null || (next is not null && !Inline.Contains(next.LocalName)))))
        {
            return "";
        }

        if (text.PreviousSibling is null || previous is { LocalName: "br" } || (previous is not null && !Inline.Contains(previous.LocalName)))
        {
            data = data.TrimStart();
        }

        if (text.NextSibling is null || next is { LocalName: "br" } || (next is not null && !Inline.Contains(next.LocalName)))
        {
            data = data.TrimEnd();
        }

        return data;
    }

    private static readonly HashSet<string> Transparent = new(["a", "span", "font", "u", "sup", "sub"], StringComparer.Ordinal);

    /// <summary>
    /// Whether a text node begins a line of the output: just after a line break, or first in its block through
    /// elements that write no delimiter of their own (a link whose address was removed is only its text).
    /// </summary>
    public static bool StartsLine(AngleSharp.Dom.IText text)
    {
        INode node = text;
        while (true)
        {
            if (node.PreviousSibling is IElement { LocalName: "br" })
            {
                return true;
            }

            if (node.PreviousSibling is not null || node.Parent is not IElement parent)
            {
                return false;
            }

            if (!Inline.Contains(parent.LocalName))
            {
                return true;
            }

            if (!Transparent.Contains(parent.LocalName))
            {
                return false;
            }

            node = parent;
        }
    }

    /// <summary>Whether an element sits inside another of the same kind (one of <paramref name="names"/>).</summary>
    public static bool Within(IElement element, params string[] names)
    {
        for (var parent = element.ParentElement; parent is not null; parent = parent.ParentElement)
        {
            if (names.Contains(parent.LocalName))
            {
                return true;
            }
        }

        return false;
    }

    public static string Prefix(string content, string first, string rest)
    {
        var lines = content.Split('\n');
        var sb = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0)
            {
                sb.Append('\n');
            }

            var prefix = i == 0 ? first : rest;
            sb.Append(lines[i].Length == 0 ? prefix.TrimEnd() : prefix + lines[i]);
        }

        return sb.ToString();
    }

    /// <summary>Wraps inline content in a delimiter, keeping edge spaces outside (Markdown and XEP-0393 both need that).</summary>
    public static string Wrap(string inner, string delimiter)
    {
        var trimmed = inner.Trim();
        if (trimmed.Length == 0)
        {
            return inner;
        }

        var lead = inner[..(inner.Length - inner.TrimStart().Length)];
        var trail = inner[inner.TrimEnd().Length..];
        return lead + delimiter + trimmed + delimiter + trail;
    }

    public static string InlineCode(string code)
    {
        code = code.Replace('\n', ' ');
        var run = 0;
        var longest = 0;
        foreach (var c in code)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        var ticks = new string('`', longest + 1);
        var pad = code.StartsWith('`') || code.EndsWith('`') || longest > 0 ? " " : "";
        return code.Length == 0 ? "" : ticks + pad + code + pad + ticks;
    }

    public static string Fence(string code, string? language)
    {
        code = code.TrimEnd('\n');
        var fence = "```";
        while (code.Contains(fence, StringComparison.Ordinal))
        {
            fence += "`";
        }

        return fence + (language ?? "") + "\n" + code + "\n" + fence;
    }

    public static string? Language(IElement pre)
    {
        var cls = pre.QuerySelector("code")?.GetAttribute("class") ?? "";
        foreach (var part in cls.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("language-", StringComparison.Ordinal) && part.Length > 9 && part[9..].All(char.IsAsciiLetterOrDigit))
            {
                return part[9..];
            }
        }

        return null;
    }

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankRuns();

    [GeneratedRegex(@"[ \t]+\n")]
    private static partial Regex TrailingSpace();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
