using Bridge.Core.Text;
using System.Globalization;
using Bridge.Mattermost.Puppets;
using Bridge.Mattermost.Text;

namespace Bridge.Mattermost.Tests;

public sealed class TextTests
{
    [Fact]
    public void Split_counts_code_points_and_never_tears_a_grapheme()
    {
        // 20,000 characters made of emoji (surrogate pairs), combining sequences and plain letters, without spaces.
        var unit = "a\U0001F600e\u0301\U0001F44D\U0001F3FDx"; // e + combining acute; thumbs up + skin tone
        var text = string.Concat(Enumerable.Repeat(unit, 20000 / 7 + 1)); // 7 code points per unit
        Assert.True(MessageSplitter.CodePoints(text) >= 20000);
        var parts = MessageSplitter.Split(text, 16383);
        Assert.True(parts.Count >= 2);
        Assert.All(parts, p => Assert.True(MessageSplitter.CodePoints(p) <= 16383));
        Assert.Equal(text, string.Concat(parts));
        foreach (var p in parts)
        {
            Assert.False(char.IsLowSurrogate(p[0]));
            Assert.False(char.IsHighSurrogate(p[^1]));
            Assert.NotEqual(UnicodeCategory.NonSpacingMark, CharUnicodeInfo.GetUnicodeCategory(p[0])); // combining mark kept with its letter
            Assert.NotEqual(UnicodeCategory.ModifierSymbol, CharUnicodeInfo.GetUnicodeCategory(p, 0));
        }
    }

    [Fact]
    public void Split_prefers_paragraphs_and_reopens_code_fences()
    {
        var para = string.Join(' ', Enumerable.Repeat("word", 30));
        var text = string.Join("\n\n", Enumerable.Repeat(para, 10));
        var parts = MessageSplitter.Split(text, 400);
        Assert.All(parts, p => Assert.Equal(para, p.Split("\n\n")[0]));
        Assert.All(parts.SkipLast(1), p => Assert.EndsWith("\n\n", p, StringComparison.Ordinal));
        Assert.Equal(text, string.Concat(parts));

        var code = "```csharp\n" + string.Join('\n', Enumerable.Range(0, 100).Select(i => $"var x{i} = {i};")) + "\n```";
        var codeParts = MessageSplitter.Split(code, 300);
        Assert.True(codeParts.Count > 1);
        Assert.All(codeParts, p =>
        {
            Assert.StartsWith("```", p, StringComparison.Ordinal);
            Assert.EndsWith("```", p, StringComparison.Ordinal);
            Assert.True(MessageSplitter.CodePoints(p) <= 300);
        });
        Assert.All(codeParts.Skip(1), p => Assert.StartsWith("```csharp\n", p, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("hey @all look", true)]
    [InlineData("@channel", true)]
    [InlineData("@HERE!", true)]
    [InlineData("mail me at bob@all.example", false)]
    [InlineData("@allison is here", false)]
    [InlineData("```\n@all in code\n```", false)]
    public void Channel_wide_mentions_are_neutralised(string input, bool changed)
    {
        var output = MentionNeutraliser.Neutralise(input);
        Assert.Equal(changed, output != input);
        Assert.Equal(input, output.Replace(MentionNeutraliser.Joiner.ToString(), "", StringComparison.Ordinal));
        if (changed)
        {
            Assert.DoesNotMatch(@"(?i)@(all|channel|here)\b", output);
        }
    }

    [Fact]
    public void Emoji_map_both_ways()
    {
        Assert.Equal("+1", EmojiMap.ToShortcode("👍"));
        Assert.Equal("heart", EmojiMap.ToShortcode("❤️"));
        Assert.Equal("tada", EmojiMap.ToShortcode(":tada:"));
        Assert.Null(EmojiMap.ToShortcode("not an emoji!"));
        Assert.Equal("👍", EmojiMap.FromShortcode("+1"));
        Assert.Equal(":custom_thing:", EmojiMap.FromShortcode("custom_thing"));
    }
}
