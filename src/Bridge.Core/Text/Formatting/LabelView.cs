using AngleSharp.Html.Parser;

namespace Bridge.Core.Text.Formatting;

/// <summary>The text a reader sees in sanitised HTML.</summary>
internal sealed class VisibleText
{
    private readonly HtmlParser _parser = new();

    public string Of(string html) => _parser.ParseDocument("<body>" + html + "</body>").Body!.TextContent;
}

/// <summary>Whether converted text still shows the delivered label where the policy put it: at the start.</summary>
internal static class LabelView
{
    /// <summary>
    /// True when there is no label, or the visible text starts with <c>[LABEL]</c> after what a reader skips
    /// (whitespace, emphasis, quote and list characters). Anything else gets the label written in front.
    /// </summary>
    public static bool Shows(string visible, string? label)
    {
        if (string.IsNullOrEmpty(label))
        {
            return true;
        }

        var start = 0;
        while (start < visible.Length && (char.IsWhiteSpace(visible[start]) || visible[start] is '*' or '_' or '~' or '`' or '>' or '#' or '|' or '•' or '-'))
        {
            start++;
        }

        return visible.AsSpan(start).StartsWith("[" + label + "]", StringComparison.OrdinalIgnoreCase);
    }
}
