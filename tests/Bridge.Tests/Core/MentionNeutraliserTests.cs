using Bridge.Core.Policy.Content;

namespace Bridge.Tests.Core;

/// <summary>Channel-wide mentions from another network get a word joiner after the '@'; nothing else changes.</summary>
public sealed class MentionNeutraliserTests
{
    private const string J = "\u2060";

    [Theory]
    [InlineData("@all look", "@" + J + "all look")]
    [InlineData("(@everyone) and @HERE!", "(@" + J + "everyone) and @" + J + "HERE!")]
    [InlineData("ping @room, @channel", "ping @" + J + "room, @" + J + "channel")]
    [InlineData("@allison and @rooms", "@allison and @rooms")]
    [InlineData("mail bob@all.example or x.@here", "mail bob@all.example or x.@here")]
    [InlineData("@@all and @room-2 and @room_x", "@@all and @room-2 and @room_x")]
    [InlineData("no mention at all", "no mention at all")]
    [InlineData("@here", "@" + J + "here")]
    [InlineData("é@all 1@all", "é@all 1@all")]
    public void Only_channel_wide_keywords_standing_alone_are_neutralised(string input, string expected) =>
        Assert.Equal(expected, MentionNeutraliser.Neutralise(input));

    [Fact]
    public void A_text_without_a_wide_mention_is_returned_as_is()
    {
        const string text = "hello @bob";
        Assert.Same(text, MentionNeutraliser.Neutralise(text));
    }

    [Fact]
    public void A_long_text_of_near_mentions_is_scanned_without_a_match_timeout()
    {
        // Found by the conversion fuzzer: thousands of "@@all" made the former regular expression's 250 ms wall-clock
        // timeout fire on a loaded machine, which would have blocked the message. The scan has no timeout to fire.
        var text = string.Concat(Enumerable.Repeat("@@all", 40_000)) + " @all";
        var result = MentionNeutraliser.Neutralise(text);
        Assert.EndsWith(" @" + J + "all", result, StringComparison.Ordinal);
        Assert.Equal(text.Length + 1, result.Length);
    }
}
