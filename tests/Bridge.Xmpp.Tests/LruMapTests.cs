using Bridge.Xmpp.Muc;

namespace Bridge.Xmpp.Tests;

public sealed class LruMapTests
{
    [Fact]
    public void Holds_at_most_its_capacity_whatever_goes_in()
    {
        var map = new LruMap<int>(1_024);
        for (var i = 0; i < 100_000; i++)
        {
            map.Set($"id-{i}", i);
        }

        Assert.Equal(1_024, map.Count);
        Assert.True(map.TryGet("id-99999", out var newest));
        Assert.Equal(99_999, newest);
        Assert.False(map.Contains("id-98975")); // the 1,025th newest is gone
        Assert.True(map.Contains("id-98976"));
    }

    [Fact]
    public void A_recently_read_entry_outlives_newer_ones_nobody_read()
    {
        var map = new LruMap<string>(3);
        map.Set("a", "1");
        map.Set("b", "2");
        map.Set("c", "3");
        Assert.True(map.TryGet("a", out _)); // a is now the most recent
        map.Set("d", "4");                   // evicts b, the least recently used, not a (first in)

        Assert.True(map.Contains("a"));
        Assert.False(map.Contains("b"));
        Assert.True(map.Contains("c"));
        Assert.True(map.Contains("d"));
    }

    [Fact]
    public void Replacing_a_value_keeps_one_entry_and_makes_it_recent()
    {
        var map = new LruMap<string>(2);
        map.Set("a", "1");
        map.Set("b", "2");
        map.Set("a", "1b");
        map.Set("c", "3"); // evicts b

        Assert.Equal(2, map.Count);
        Assert.True(map.TryGet("a", out var a));
        Assert.Equal("1b", a);
        Assert.False(map.Contains("b"));
    }

    [Fact]
    public void A_capacity_below_one_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => new LruMap<bool>(0));
}
