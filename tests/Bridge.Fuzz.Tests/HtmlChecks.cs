using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace Bridge.Fuzz.Tests;

/// <summary>What "safe, well-formed HTML" means for the bridge's HTML outputs.</summary>
internal static class HtmlChecks
{
    private static readonly HtmlParser Parser = new();

    private static readonly HashSet<string> Allowed = new(StringComparer.OrdinalIgnoreCase)
    {
        "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub", "li", "b", "i", "u",
        "strong", "em", "s", "strike", "code", "hr", "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre",
        "span", "img", "details", "summary",
    };

    /// <summary>Parses the fragment and checks: only Matrix's allowed tags, no event-handler or style attribute, no script-like URL.</summary>
    public static void AssertSafe(string html)
    {
        var body = Parser.ParseDocument("<!DOCTYPE html><html><body>" + html + "</body></html>").Body!;
        foreach (var element in Elements(body))
        {
            // Messages are built only on failure: the input shown in them is as long as the HTML, once per element.
            if (!Allowed.Contains(element.LocalName))
            {
                Assert.Fail($"element <{element.LocalName}> in sanitised HTML: {Mutator.Show(html)}");
            }

            foreach (var attribute in element.Attributes)
            {
                if (attribute.Name.StartsWith("on", StringComparison.OrdinalIgnoreCase) || attribute.Name.Equals("style", StringComparison.OrdinalIgnoreCase))
                {
                    Assert.Fail($"attribute {attribute.Name} in sanitised HTML: {Mutator.Show(html)}");
                }

                if (attribute.Name is "href" or "src")
                {
                    var value = new string(attribute.Value.Where(c => !char.IsWhiteSpace(c) && !char.IsControl(c)).ToArray());
                    if (value.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase) || value.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
                        || value.StartsWith("vbscript:", StringComparison.OrdinalIgnoreCase))
                    {
                        Assert.Fail($"active URL in sanitised HTML: {Mutator.Show(html)}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Every element opened in the part is closed in it and every end tag closes an element opened in it: parsing the
    /// part on its own gives back the same markup (the parser would otherwise add or drop tags).
    /// </summary>
    public static void AssertBalanced(string part)
    {
        var body = Parser.ParseDocument("<!DOCTYPE html><html><body>" + part + "</body></html>").Body!;
        var opened = CountTags(part, closing: false);
        var closed = CountTags(part, closing: true);
        var elements = Elements(body).Count(e => !IsVoid(e.LocalName));
        Assert.True(opened == elements && closed == elements, $"unbalanced part ({opened} opened, {closed} closed, {elements} parsed): {Mutator.Show(part)}");
    }

    /// <summary>
    /// Every element under the root, by an explicit stack: AngleSharp's Descendants() nests one iterator per level, so
    /// deeply nested markup cost the check itself hundreds of megabytes (and the case its allocation bound).
    /// </summary>
    private static IEnumerable<IElement> Elements(IElement root)
    {
        var stack = new Stack<IElement>(root.Children.Reverse());
        while (stack.Count > 0)
        {
            var element = stack.Pop();
            yield return element;
            for (var i = element.Children.Length - 1; i >= 0; i--)
            {
                stack.Push(element.Children[i]);
            }
        }
    }

    private static bool IsVoid(string name) => name is "br" or "hr" or "img" or "wbr" or "input" or "meta" or "link" or "area" or "base" or "col" or "embed" or "source" or "track";

    /// <summary>Tag count by scanning the serialised markup (attribute values are quoted, text has &lt; escaped).</summary>
    private static int CountTags(string html, bool closing)
    {
        var count = 0;
        for (var i = 0; i < html.Length; i++)
        {
            if (html[i] != '<')
            {
                continue;
            }

            var isClosing = i + 1 < html.Length && html[i + 1] == '/';
            var start = isClosing ? i + 2 : i + 1;
            var end = start;
            while (end < html.Length && char.IsAsciiLetterOrDigit(html[end]))
            {
                end++;
            }

            if (end == start)
            {
                continue;
            }

            var name = html[start..end].ToLowerInvariant();
            if (isClosing == closing && !IsVoid(name))
            {
                count++;
            }

            // Skip to the end of the tag, over quoted attribute values.
            char? quote = null;
            for (i = end; i < html.Length; i++)
            {
                if (quote is { } q)
                {
                    if (html[i] == q)
                    {
                        quote = null;
                    }
                }
                else if (html[i] is '"' or '\'')
                {
                    quote = html[i];
                }
                else if (html[i] == '>')
                {
                    break;
                }
            }
        }

        return count;
    }
}
