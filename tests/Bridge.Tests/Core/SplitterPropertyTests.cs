using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Bridge.Core.Text;
using Bridge.Matrix.Formatting;
using CsCheck;

namespace Bridge.Tests.Core;

/// <summary>Properties of the shared splitter and Matrix's HTML splitter, over generated texts.</summary>
public sealed class SplitterPropertyTests
{
    // Pieces chosen for what makes cutting hard: multi-byte letters, surrogate pairs, combining marks, JSON-escaped
    // characters, line and paragraph breaks, long runs without spaces.
    private static readonly string[] Pieces =
    [
        "word ", "naïve ", "\U0001F600", "e\u0301", "👍🏽", "\"", "\\", "\t", "\u0001", "\n", "\n\n", "x", "ééééé", "  ",
        new string('z', 40),
    ];

    private static readonly Gen<string> Texts = Gen.Int[0, Pieces.Length - 1].Array[0, 600]
        .Select(ix => string.Concat(ix.Select(i => Pieces[i])));

    [Fact]
    public void Json_byte_parts_fit_the_budget_and_concatenate_to_the_original()
    {
        Gen.Select(Texts, Gen.Int[64, 400]).Sample((text, max) =>
        {
            var parts = MessageSplitter.Split(text, max, TextMeasure.JsonUtf8Bytes);
            Assert.All(parts, p => Assert.True(MessageSplitter.Measure(p, TextMeasure.JsonUtf8Bytes) <= max));
            Assert.Equal(text, string.Concat(parts));
            Assert.All(parts.SkipLast(1), p => Assert.False(char.IsHighSurrogate(p[^1])));
            // The measure is what System.Text.Json-style canonical JSON of the string costs (without the quotes).
            Assert.Equal(CanonicalStringBytes(text), MessageSplitter.Measure(text, TextMeasure.JsonUtf8Bytes));
        }, iter: 300);
    }

    [Fact]
    public void Html_parts_fit_the_budget_are_well_formed_and_keep_every_word_in_order()
    {
        var words = Gen.Int[0, Pieces.Length - 1].Array[1, 8].Select(ix => System.Net.WebUtility.HtmlEncode(string.Concat(ix.Select(i => Pieces[i])).Replace("\u0001", "", StringComparison.Ordinal)));
        string[] elements = ["p", "b", "i", "li", "blockquote", "code", "a href=\"https://example.org/x y\""];
        var element = Gen.Int[0, elements.Length - 1].Select(i => elements[i]);
        var fragment = Gen.Select(element, words.Array[1, 6]).Select((tag, ws) =>
        {
            var name = tag.Split(' ')[0];
            return $"<{tag}>{string.Join(" ", ws)}</{name}>";
        });
        var html = fragment.Array[1, 60].Select(fs => string.Concat(fs));
        Gen.Select(html, Gen.Int[256, 1200]).Sample((h, max) =>
        {
            var parts = HtmlSplitter.Split(h, max);
            Assert.All(parts, p => Assert.True(MessageSplitter.Measure(p, TextMeasure.JsonUtf8Bytes) <= max, $"{MessageSplitter.Measure(p, TextMeasure.JsonUtf8Bytes)} > {max}"));
            Assert.All(parts, p => XElement.Parse("<r>" + p + "</r>"));
            var whole = HtmlSplitter.ToPlainText(h).Replace("\n", "", StringComparison.Ordinal);
            var joined = string.Concat(parts.Select(HtmlSplitter.ToPlainText)).Replace("\n", "", StringComparison.Ordinal);
            Assert.Equal(whole, joined);
        }, iter: 200);
    }

    private static int CanonicalStringBytes(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return Encoding.UTF8.GetByteCount(sb.ToString());
    }
}
