namespace Bridge.Fuzz.Tests;

/// <summary>
/// The runner's watchdog: a case that spins is caught by its CPU time, a case that is blocked by the clock, and a case
/// that only waits (as a case does when the shared machine's cores are busy elsewhere) is not taken for a hang.
/// </summary>
public sealed class FuzzRunnerTests
{
    private static readonly Gen<int> AnyInt = Gen.Int[0, 1000];

    [Fact]
    public void A_case_that_spins_fails_the_run_on_its_cpu_time()
    {
        var stop = false;
        try
        {
            var hang = Assert.Throws<TimeoutException>(() => FuzzRunner.Run("watchdog-spin", AnyInt, _ =>
            {
                while (!Volatile.Read(ref stop))
                {
                    Thread.SpinWait(100);
                }

                return true;
            }, i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), cpuLimit: TimeSpan.FromSeconds(0.3), wallLimit: TimeSpan.FromMinutes(5), cases: 1));
            Assert.Contains("of CPU time", hang.Message, StringComparison.Ordinal);
        }
        finally
        {
            Volatile.Write(ref stop, true); // frees the stuck case's thread
        }
    }

    [Fact]
    public void A_case_that_is_blocked_fails_the_run_on_the_clock()
    {
        using var release = new ManualResetEventSlim();
        try
        {
            var hang = Assert.Throws<TimeoutException>(() => FuzzRunner.Run("watchdog-blocked", AnyInt, _ => release.Wait(TimeSpan.FromMinutes(5)),
                i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), cpuLimit: TimeSpan.FromSeconds(5), wallLimit: TimeSpan.FromSeconds(1), cases: 1));
            Assert.Contains("blocked", hang.Message, StringComparison.Ordinal);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public void A_case_that_waits_longer_than_the_cpu_limit_without_using_the_cpu_is_not_a_hang()
    {
        // Two cases, one accepted and one refused (the runner wants both); the first sleeps three times the CPU limit.
        var calls = 0;
        FuzzRunner.Run("watchdog-waits", AnyInt, _ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                Thread.Sleep(TimeSpan.FromSeconds(1.5));
                return true;
            }

            return false;
        }, i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), cpuLimit: TimeSpan.FromSeconds(0.5), wallLimit: TimeSpan.FromMinutes(5), cases: 2);
        Assert.Equal(2, calls);
    }
}
