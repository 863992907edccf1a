using System.Diagnostics;
using System.Globalization;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// Runs a CsCheck generator against a property for FUZZ_CASES cases (10,000 by default), with a per-case time limit
/// (a watchdog fails the run with the stuck input rather than hanging the suite), a per-case allocation bound and a
/// bound on memory kept across the run. Prints one summary line per target (scripts/fuzz.sh collects them).
/// </summary>
internal static class FuzzRunner
{
    private const long DefaultCases = 10_000;

    /// <summary>A case that runs longer than this is a hang (generous: the machine is shared).</summary>
    public static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASE_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 5);

    /// <summary>One case may allocate at most this much (catches amplification: a small input that makes a huge output).</summary>
    public const long CaseAllocationLimit = 256L * 1024 * 1024;

    /// <summary>Memory still reachable after the run, beyond what was reachable before it.</summary>
    public const long RetainedLimit = 64L * 1024 * 1024;

    public static long Cases =>
        long.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : DefaultCases;

    /// <param name="property">Checks one case; returns true when the input was accepted (parsed, produced output), false when it was refused
    /// the documented way. Both kinds must occur, so a generator that only ever makes garbage (or only valid input) fails.</param>
    public static void Run<T>(string target, Gen<T> gen, Func<T, bool> property, Func<T, string> print)
    {
        var cases = Cases;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        long started = -1; // Stopwatch ticks at the start of the running case, -1 between cases
        object? current = null;
        long done = 0;
        long accepted = 0;
        var seed = Environment.GetEnvironmentVariable("FUZZ_SEED");
        var run = Task.Factory.StartNew(() => gen.Sample(input =>
        {
            Volatile.Write(ref current, input);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            Volatile.Write(ref started, clock.ElapsedTicks);
            if (property(input))
            {
                Interlocked.Increment(ref accepted);
            }

            Volatile.Write(ref started, -1);
            var used = GC.GetAllocatedBytesForCurrentThread() - allocated;
            if (used > CaseAllocationLimit)
            {
                throw new InvalidOperationException($"one case allocated {used:N0} bytes (limit {CaseAllocationLimit:N0})");
            }

            Interlocked.Increment(ref done);
        }, seed: seed, iter: cases, threads: 1, print: print), TaskCreationOptions.LongRunning);

        // WaitAny, not Wait: Wait throws as soon as the run faults, which skipped the FAIL line below.
        while (Task.WaitAny([run], TimeSpan.FromMilliseconds(200)) < 0)
        {
            var at = Volatile.Read(ref started);
            if (at >= 0 && TimeSpan.FromTicks((long)((clock.ElapsedTicks - at) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency))) > CaseLimit)
            {
                // The stuck case keeps its thread; the run is failed with the input that hung.
                Report(target, Interlocked.Read(ref done), clock.Elapsed, "HANG");
                throw new TimeoutException($"{target}: one case ran longer than {CaseLimit.TotalSeconds} s: {Describe(print, (T)Volatile.Read(ref current)!)}");
            }
        }

        if (run.Exception is { } failure)
        {
            Report(target, Interlocked.Read(ref done), clock.Elapsed, "FAIL");
            throw failure.InnerException!;
        }

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        Report(target, done, clock.Elapsed, retained > RetainedLimit ? "LEAK" : "ok", retained, accepted);
        Assert.True(accepted > 0 && accepted < done, $"{target}: {accepted} of {done} cases accepted: the generator does not reach both valid and invalid input");
        Assert.True(retained <= RetainedLimit, $"{target}: {retained:N0} bytes still reachable after the run (limit {RetainedLimit:N0})");
    }

    private static string Describe<T>(Func<T, string> print, T value)
    {
        try
        {
            var text = print(value);
            return text.Length > 4000 ? text[..4000] + "…" : text;
        }
        catch (Exception ex)
        {
            return "(unprintable: " + ex.Message + ")";
        }
    }

    private static void Report(string target, long cases, TimeSpan elapsed, string outcome, long retained = 0, long accepted = -1)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"FUZZ target={target} cases={cases} accepted={accepted} seconds={elapsed.TotalSeconds:F1} retained_bytes={retained} result={outcome}");
        Console.WriteLine(line);
        var log = Environment.GetEnvironmentVariable("FUZZ_REPORT");
        if (!string.IsNullOrEmpty(log))
        {
            File.AppendAllText(log, line + Environment.NewLine);
        }
    }
}
