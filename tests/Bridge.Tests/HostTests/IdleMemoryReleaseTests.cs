using Bridge.Host.Composition;

namespace Bridge.Tests.HostTests;

/// <summary>Memory is given back once after a busy spell ends, never while traffic flows, never for a trickle.</summary>
public sealed class IdleMemoryReleaseTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void A_busy_spell_is_released_after_two_quiet_readings_and_only_once()
    {
        var spell = new IdleSpell();
        var counter = 0L;
        bool Read(long add) => spell.Observe(counter += add);

        Assert.False(Read(0));
        Assert.False(Read(20 * MiB)); // busy
        Assert.False(Read(20 * MiB)); // busy
        Assert.False(Read(100 * 1024)); // first quiet reading
        Assert.True(Read(100 * 1024)); // second: release
        Assert.Equal(40 * MiB + (200 * 1024), spell.LastBusyBytes);
        Assert.False(Read(0)); // still quiet: nothing new to release
        Assert.False(Read(0));
    }

    [Fact]
    public void Steady_traffic_never_releases_and_a_trickle_never_adds_up_to_a_release_of_its_own()
    {
        var spell = new IdleSpell();
        var counter = 0L;
        for (var i = 0; i < 100; i++)
        {
            Assert.False(spell.Observe(counter += 2 * MiB)); // traffic the whole time
        }

        var trickle = new IdleSpell();
        counter = 0;
        for (var i = 0; i < 60; i++)
        {
            Assert.False(trickle.Observe(counter += 256 * 1024)); // quiet readings, but 15 MiB in all: below the busy mark
        }
    }
}
