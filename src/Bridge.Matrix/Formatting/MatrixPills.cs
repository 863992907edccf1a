using System.Net;
using System.Text.RegularExpressions;

namespace Bridge.Matrix.Formatting;

/// <summary>
/// User pills: <c>&lt;a href="https://matrix.to/#/@user:server"&gt;label&lt;/a&gt;</c> in <c>formatted_body</c>, read on the
/// way in (and taken out of the HTML, so no other network shows a link to a Matrix address) and written on the way out.
/// </summary>
internal static partial class MatrixPills
{
    // Bounded: any sender can write the HTML, and an unclosed anchor repeated makes a lazy match scan far.
    [GeneratedRegex("""<a\s+href="https://matrix\.to/#/((?:@|%40)[^"?/]+)(?:\?[^"]*)?"\s*>(.*?)</a>""", RegexOptions.IgnoreCase | RegexOptions.Singleline, 250)]
    private static partial Regex Pill();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tag();

    /// <summary>
    /// The pills of <paramref name="html"/> that mention someone (every pill when <paramref name="intended"/> is null, as
    /// clients before intentional mentions sent; otherwise only those in <c>m.mentions.user_ids</c>), in order, and
    /// the HTML with those pills replaced by their label.
    /// </summary>
    public static IReadOnlyList<(string UserId, string Label)> Take(string html, IReadOnlySet<string>? intended, out string withoutPills)
    {
        var pills = new List<(string, string)>();
        try
        {
            withoutPills = Replace(html, intended, pills);
        }
        catch (RegexMatchTimeoutException)
        {
            // Too costly to read: no mentions, and the HTML as it was (the sanitiser already made it safe).
            pills.Clear();
            withoutPills = html;
        }

        return pills;
    }

    private static string Replace(string html, IReadOnlySet<string>? intended, List<(string, string)> pills) =>
        Pill().Replace(html, m =>
        {
            var userId = Uri.UnescapeDataString(m.Groups[1].Value);
            if (intended is not null && !intended.Contains(userId))
            {
                return m.Value;
            }

            var labelHtml = m.Groups[2].Value;
            var label = WebUtility.HtmlDecode(Tag().Replace(labelHtml, ""));
            if (label.Length == 0)
            {
                return m.Value;
            }

            pills.Add((userId, label));
            return labelHtml;
        });

    public static string Write(string userId, string label) =>
        $"<a href=\"https://matrix.to/#/{MatrixHtml.Escape(userId)}\">{MatrixHtml.Escape(label)}</a>";
}
