using System.Diagnostics;
using System.Globalization;

namespace Bridge.Fuzz.Tests;

/// <summary>
/// Runs a CsCheck generator against a property for FUZZ_CASES cases (10,000 by default), with per-case time limits
/// (CPU time and wall time: a watchdog fails the run with the stuck input rather than hanging the suite), a per-case allocation bound and a
/// bound on memory kept across the run. Prints one summary line per target (scripts/fuzz.sh collects them).
/// </summary>
internal static class FuzzRunner
{
    private const long DefaultCases = 10_000;

    /// <summary>
    /// A case whose thread has used this much CPU time is a hang (a loop that spins, or work that blows up). CPU time,
    /// not wall time: on the shared machine a first case (JIT, regex and sanitiser set-up) took over 5 s of wall time
    /// while other runs and builds held the cores, and failed as a HANG without being one.
    /// </summary>
    public static readonly TimeSpan CaseCpuLimit = Seconds("FUZZ_CASE_SECONDS", 5);

    /// <summary>
    /// A case that has taken this long by the clock is a hang even if it used no CPU (blocked for ever on a lock, a
    /// task, a read). Generous, because load stretches wall time; still finite, so a blocked case fails the run.
    /// </summary>
    public static readonly TimeSpan CaseWallLimit = Seconds("FUZZ_CASE_WALL_SECONDS", 120);

    /// <summary>One case may allocate at most this much (catches amplification: a small input that makes a huge output).</summary>
    public const long CaseAllocationLimit = 256L * 1024 * 1024;

    /// <summary>Memory still reachable after the run, beyond what was reachable before it.</summary>
    public const long RetainedLimit = 64L * 1024 * 1024;

    public static long Cases =>
        long.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : DefaultCases;

    /// <param name="property">Checks one case; returns true when the input was accepted (parsed, produced output), false when it was refused
    /// the documented way. Both kinds must occur, so a generator that only ever makes garbage (or only valid input) fails.</param>
    public static void Run<T>(string target, Gen<T> gen, Func<T, bool> property, Func<T, string> print) =>
        Run(target, gen, property, print, CaseCpuLimit, CaseWallLimit, Cases, report: true);

    /// <summary>As above with explicit limits (the watchdog's own tests use short ones, and print no FUZZ line).</summary>
    internal static void Run<T>(string target, Gen<T> gen, Func<T, bool> property, Func<T, string> print, TimeSpan cpuLimit, TimeSpan wallLimit, long cases, bool report = false)
    {
        void Report(long cases, TimeSpan elapsed, string outcome, long retained = 0, long accepted = -1, string? detail = null)
        {
            if (report)
            {
                FuzzRunner.Report(target, cases, elapsed, outcome, retained, accepted, detail);
            }
        }

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        long started = -1; // Stopwatch ticks at the start of the running case, -1 between cases
        long caseNumber = 0; // which case is running (the watchdog notes a case's CPU time when it first sees it)
        var caseThread = 0; // the Linux id of the thread running the cases, 0 where /proc cannot tell it
        using var threadIds = new ThreadLocal<int>(ThreadCpu.CurrentThreadId);
        object? current = null;
        long done = 0;
        long accepted = 0;
        var seed = Environment.GetEnvironmentVariable("FUZZ_SEED") ?? Environment.GetEnvironmentVariable("CsCheck_Seed");
        var run = Task.Factory.StartNew(() => gen.Sample(input =>
        {
            Volatile.Write(ref current, input);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            Volatile.Write(ref caseThread, threadIds.Value);
            Interlocked.Increment(ref caseNumber);
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

        // The CPU time of the running case is counted from the watchdog's first look at it (at most 200 ms late, so a
        // little lenient): reading /proc in the case thread itself would add a file read to each of a million cases.
        long seenCase = -1;
        TimeSpan? seenCpu = null;
        // WaitAny, not Wait: Wait throws as soon as the run faults, which skipped the FAIL line below.
        while (Task.WaitAny([run], TimeSpan.FromMilliseconds(200)) < 0)
        {
            // The case number first: a start read after it is this case's or a later one's, never an earlier one's.
            var number = Interlocked.Read(ref caseNumber);
            var at = Volatile.Read(ref started);
            if (at < 0)
            {
                continue;
            }

            var thread = Volatile.Read(ref caseThread);
            if (number != seenCase)
            {
                seenCase = number;
                seenCpu = ThreadCpu.Read(thread);
                continue;
            }

            var wall = TimeSpan.FromTicks((long)((clock.ElapsedTicks - at) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency)));
            // Where the thread's CPU time cannot be read, wall time stands in for it (the stricter reading).
            var cpu = ThreadCpu.Read(thread) is { } now && seenCpu is { } then ? now - then : wall;
            var hang = cpu > cpuLimit ? $"used more than {cpuLimit.TotalSeconds} s of CPU time ({cpu.TotalSeconds:F1} s in {wall.TotalSeconds:F1} s)"
                : wall > wallLimit ? $"ran longer than {wallLimit.TotalSeconds} s ({cpu.TotalSeconds:F1} s of CPU time): blocked"
                : null;
            if (hang is not null && Interlocked.Read(ref caseNumber) == number)
            {
                // The stuck case keeps its thread; the run is failed with the input that hung.
                var message = $"{target}: one case {hang}: {Describe(print, (T)Volatile.Read(ref current)!)}";
                Report(Interlocked.Read(ref done), clock.Elapsed, "HANG", detail: message);
                throw new TimeoutException(message);
            }
        }

        if (run.Exception is { } failure)
        {
            // CsCheck's exception names the seed and the input; the one it wraps says what was wrong.
            var inner = failure.InnerException;
            Report(Interlocked.Read(ref done), clock.Elapsed, "FAIL",
                detail: inner?.Message + (inner?.InnerException is { } cause ? Environment.NewLine + cause.GetType().Name + ": " + cause.Message : ""));
            throw failure.InnerException!;
        }

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        Report(done, clock.Elapsed, retained > RetainedLimit ? "LEAK" : "ok", retained, accepted);
        // (Not when one seed is replayed: a reproduction is one case, accepted or refused.)
        Assert.True(seed is not null || (accepted > 0 && accepted < done), $"{target}: {accepted} of {done} cases accepted: the generator does not reach both valid and invalid input");
        Assert.True(retained <= RetainedLimit, $"{target}: {retained:N0} bytes still reachable after the run (limit {RetainedLimit:N0})");
    }

    private static TimeSpan Seconds(string variable, double fallback) => TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : fallback);

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

    private static void Report(string target, long cases, TimeSpan elapsed, string outcome, long retained = 0, long accepted = -1, string? detail = null)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"FUZZ target={target} cases={cases} accepted={accepted} seconds={elapsed.TotalSeconds:F1} retained_bytes={retained} result={outcome}");
        if (detail is not null)
        {
            // The input that failed or hung (with CsCheck's seed for a failure): scripts/fuzz.sh shows only the report,
            // and a hang has no seed, so without this a HANG line could not be reproduced.
            line += Environment.NewLine + "  " + (detail.Length > 4000 ? detail[..4000] + "…" : detail).ReplaceLineEndings(Environment.NewLine + "  ");
        }
        Console.WriteLine(line);
        var log = Environment.GetEnvironmentVariable("FUZZ_REPORT");
        if (!string.IsNullOrEmpty(log))
        {
            File.AppendAllText(log, line + Environment.NewLine);
        }
    }
}

/// <summary>The CPU time (user + system) one thread of this process has used, from Linux's /proc.</summary>
internal static class ThreadCpu
{
    private const double ClockTicksPerSecond = 100; // USER_HZ: what /proc reports utime and stime in on Linux

    /// <summary>The calling thread's Linux id (/proc/thread-self points at "pid/task/tid"), 0 where there is no /proc.</summary>
    public static int CurrentThreadId()
    {
        try
        {
            var target = new FileInfo("/proc/thread-self").LinkTarget;
            return target is not null && int.TryParse(Path.GetFileName(target), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The thread's CPU time so far, null when it cannot be read (no /proc, or the thread has ended).</summary>
    public static TimeSpan? Read(int threadId)
    {
        if (threadId == 0)
        {
            return null;
        }

        try
        {
            // Fields after the name (which may hold spaces, so split after its closing parenthesis): state is the 3rd
            // field of /proc's stat, utime the 14th and stime the 15th.
            var stat = File.ReadAllText($"/proc/self/task/{threadId.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / ClockTicksPerSecond);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
