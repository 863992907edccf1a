using AngleSharp.Html.Parser;

namespace Bridge.Policy.Tests.Formatting;

/// <summary>Finds what a browser would run or load in HTML: a reason, or null when there is none.</summary>
internal static class ActiveContent
{
    private static readonly HashSet<string> Allowed = new(
    [
        "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub", "li", "b", "i", "u",
        "strong", "em", "s", "strike", "code", "hr", "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre",
        "span", "img", "details", "summary", "html", "head", "body",
    ], StringComparer.OrdinalIgnoreCase);

    private static readonly string[] SafeSchemes = ["http:", "https:", "ftp:", "mailto:", "magnet:", "mxc:"];

    public static string? Find(string html)
    {
        var document = new HtmlParser().ParseDocument("<body>" + html + "</body>");
        foreach (var el in document.All)
        {
            if (!Allowed.Contains(el.LocalName))
            {
                return "element " + el.LocalName;
            }

            foreach (var attribute in el.Attributes)
            {
                if (attribute.Name.StartsWith("on", StringComparison.OrdinalIgnoreCase) || attribute.Name.Equals("style", StringComparison.OrdinalIgnoreCase))
                {
                    return "attribute " + attribute.Name;
                }

                if (attribute.Name is "href" or "src")
                {
                    var value = new string(attribute.Value.Where(c => !char.IsWhiteSpace(c) && !char.IsControl(c)).ToArray());
                    var colon = value.IndexOf(':');
                    var slash = value.IndexOfAny(['/', '?', '#']);
                    var hasScheme = colon >= 0 && (slash < 0 || colon < slash);
                    if (hasScheme && !SafeSchemes.Any(s => value.StartsWith(s, StringComparison.OrdinalIgnoreCase)))
                    {
                        return $"{attribute.Name}={attribute.Value}";
                    }

                    if (attribute.Name == "src" && !value.StartsWith("mxc:", StringComparison.OrdinalIgnoreCase))
                    {
                        return "image from " + attribute.Value;
                    }
                }
            }
        }

        return null;
    }
}
