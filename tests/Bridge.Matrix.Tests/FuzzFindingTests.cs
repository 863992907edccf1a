using System.Text;
using System.Text.Json.Nodes;
using Bridge.Core.Model;
using Bridge.Matrix.Appservice;
using Bridge.Matrix.Formatting;

namespace Bridge.Matrix.Tests;

/// <summary>
/// Transactions the fuzzer (tests/Bridge.Fuzz.Tests) found to throw inside the handler: the listener then answers 500
/// and the homeserver retries the same transaction forever, so one event stalled every later one.
/// </summary>
public sealed class FuzzFindingTests
{
    private static readonly InboundMapper Mapper = new("matrix-b", "org.example.label", new MatrixHtml());
    private static readonly PersonRef Alice = new() { NetworkId = "matrix-b", UserId = "@alice:hs", DisplayName = "Alice" };

    private static BridgeEvent? MapOnly(string body)
    {
        var (events, errcode, error) = AppserviceListener.ParseTransaction(Encoding.UTF8.GetBytes(body));
        Assert.True(events is not null, $"{errcode}: {error}");
        return Mapper.Map((JsonObject)Assert.Single(events)!, "channel", Alice);
    }

    [Fact]
    public void A_lone_surrogate_escape_in_a_value_is_read_as_a_replacement_character()
    {
        var mapped = MapOnly("""{"events":[{"type":"m.room.message","event_id":"$1","content":{"msgtype":"m.text","body":"a\ud800b"}}]}""");
        Assert.Equal("a\uFFFDb", mapped?.Text);
    }

    [Fact]
    public void A_lone_surrogate_in_the_label_field_is_not_the_label_it_resembles()
    {
        var mapped = MapOnly("""{"events":[{"type":"m.room.message","event_id":"$1","content":{"msgtype":"m.text","body":"x","org.example.label":"CU\udfffI"}}]}""");
        Assert.Equal(["CU\uFFFDI"], mapped?.StructuredLabels);
    }

    [Fact]
    public void A_lone_surrogate_escape_in_a_key_does_not_throw_and_a_pair_is_kept()
    {
        var mapped = MapOnly("""{"events":[{"type":"m.room.message","event_id":"$1","content":{"msgtype":"m.text","body":"\ud83d\ude00 ok","x\udc00":1}}]}""");
        Assert.Equal("\U0001F600 ok", mapped?.Text);
    }

    [Fact]
    public void A_duplicate_key_is_refused_as_not_json_rather_than_throwing_later()
    {
        var (events, errcode, _) = AppserviceListener.ParseTransaction("""{"events":[{"type":"m.room.message","type":"m.reaction","event_id":"$1","content":{}}]}"""u8.ToArray());
        Assert.Null(events);
        Assert.Equal("M_NOT_JSON", errcode);
    }

    [Fact]
    public void A_timestamp_outside_the_calendar_counts_as_absent()
    {
        var mapped = MapOnly("""{"events":[{"type":"m.room.message","event_id":"$1","origin_server_ts":9223372036854775807,"content":{"msgtype":"m.text","body":"late"}}]}""");
        Assert.Equal("late", mapped?.Text);
    }

    [Fact]
    public void Deeply_nested_html_is_split_into_parts_whose_size_grows_with_the_input_not_its_square()
    {
        // The fuzzer's case: ~500 nested elements made every part reopen them all, so 4 KB of HTML became ~300 parts
        // (1.6 MB); a case allocated more than 256 MB.
        var words = string.Concat(Enumerable.Range(0, 400).Select(i => $"w{i} "));
        var html = string.Concat(Enumerable.Repeat("<b>", 500)) + words + string.Concat(Enumerable.Repeat("</b>", 500));
        var parts = HtmlSplitter.Split(html, 2048);
        var total = parts.Sum(p => p.Length);
        Assert.True(total <= 4 * html.Length, $"{parts.Count} parts, {total} chars from {html.Length}");
        // Every word still arrives, once and in order, and the outer formatting is kept.
        var text = string.Concat(parts.Select(HtmlSplitter.ToPlainText));
        Assert.Equal(words.Replace(" ", "", StringComparison.Ordinal), text.Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));
        Assert.All(parts, p => Assert.StartsWith("<b>", p, StringComparison.Ordinal));
        Assert.All(parts, p => Assert.Equal(CountOf(p, "<b>"), CountOf(p, "</b>")));
    }

    [Fact]
    public void Sanitised_html_reads_back_as_itself_even_when_deeply_nested()
    {
        // The fuzzer's case: inside ~600 nested elements a table came out as "<table></table><tbody></tbody><tr></tr>
        // <td>a</td>", which a client's parser reads as something else (rows outside their table are dropped).
        var html = string.Concat(Enumerable.Repeat("<div>", 600)) + "<font data-mx-color=\"#ff0000\">red</font><table><tr><td>a</td></tr></table>"
                   + string.Concat(Enumerable.Repeat("</div>", 600));
        var sanitiser = new MatrixHtml();
        var clean = sanitiser.Sanitise(html);
        Assert.Equal(clean, sanitiser.Sanitise(clean));
    }

    [Fact]
    public void A_table_split_inside_a_row_is_reopened_with_its_row_or_not_at_all()
    {
        // The fuzzer's case (matrix-html, seed 9gi0Co_IHJH2): nested elements used most of the reopening budget, so a
        // part reopened <table><tbody> but not the <tr> its cells were in, and a parser inserted a row into the part.
        var cells = string.Concat(Enumerable.Range(0, 60).Select(i => $"<td>cell {i} with some words in it</td>"));
        var parser = new AngleSharp.Html.Parser.HtmlParser();
        for (var depth = 0; depth < 24; depth++)
        {
            var html = string.Concat(Enumerable.Repeat("<span data-mx-spoiler=\"\">", depth)) + "<table><tbody><tr>" + cells + "</tr></tbody></table>"
                       + string.Concat(Enumerable.Repeat("</span>", depth));
            var parts = HtmlSplitter.Split(html, 1024);
            Assert.True(parts.Count > 1, $"depth {depth}: not split");
            foreach (var part in parts)
            {
                var body = parser.ParseDocument("<!DOCTYPE html><html><body>" + part + "</body></html>").Body!;
                var parsed = body.QuerySelectorAll("*").Length;
                var opened = System.Text.RegularExpressions.Regex.Count(part, "<[a-zA-Z]");
                Assert.True(opened == parsed, $"depth {depth}: {opened} opened, {parsed} parsed: {part}");
            }

            // Every cell's words still arrive, in order.
            var text = string.Concat(parts.Select(HtmlSplitter.ToPlainText)).Replace("\n", "", StringComparison.Ordinal);
            Assert.Contains("cell 59 with some words in it", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_word_that_opens_a_code_fence_with_an_info_string_longer_than_a_part_is_split_and_ends()
    {
        // The fuzzer's case (conversion HANG): 75 backticks then hundreds of <script> elements, escaped into one HTML
        // word. The word splitter closed the fence at each cut and reopened it with its whole info string, which was
        // longer than a part, so the next part was the reopened fence again: no cut ever made progress (5 s of CPU
        // time until the fuzzer stopped it). Guarded by a wall-clock limit only so the regression ends rather than hangs.
        var word = System.Net.WebUtility.HtmlEncode(new string('`', 75) + string.Concat(Enumerable.Repeat("<script>alert(1)</script>", 300)));
        var parts = await Task.Run(() => HtmlSplitter.Split(word, 2048)).WaitAsync(TimeSpan.FromSeconds(60)); // TimeoutException: it did not end
        var total = parts.Sum(p => p.Length);
        Assert.True(total <= 2 * word.Length, $"{parts.Count} parts, {total} chars from {word.Length}");
        // Nothing is lost: the parts read as the text, with the fence closed at each cut and reopened (plain) after it.
        var text = string.Concat(parts.Select(HtmlSplitter.ToPlainText));
        Assert.Equal(System.Net.WebUtility.HtmlDecode(word), text.Replace("\n``````\n", "", StringComparison.Ordinal));
    }

    private static int CountOf(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
