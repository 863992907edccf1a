using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace Bridge.Core.Text.Formatting;

/// <summary>
/// Sanitised HTML to a plain-text markup, node by node: the walk is shared, each markup says what one node becomes
/// (<see cref="HtmlToMarkdown"/>, <see cref="HtmlToStyling"/>).
/// </summary>
public abstract class HtmlTextRenderer
{
    private readonly HtmlParser _parser = new();

    public string Convert(string html)
    {
        var body = _parser.ParseDocument("<body>" + html + "</body>").Body!;
        return Blocks.Tidy(Render(body.ChildNodes));
    }

    /// <summary>What one node (and what it holds) becomes in this markup.</summary>
    protected abstract string Render(INode node);

    protected string Render(INodeList nodes)
    {
        var sb = new StringBuilder();
        foreach (var node in nodes)
        {
            var part = Render(node);
            // Text on both sides of an element that writes nothing would otherwise meet with two spaces.
            if (part.StartsWith(' ') && sb.Length > 0 && sb[^1] == ' ')
            {
                part = part[1..];
            }

            sb.Append(part);
        }

        return sb.ToString();
    }
}
