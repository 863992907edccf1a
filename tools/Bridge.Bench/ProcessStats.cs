using System.Globalization;

namespace Bridge.Bench;

/// <summary>CPU time, resident memory and context switches of another process, from /proc.</summary>
internal static class ProcessStats
{
    public static TimeSpan CpuTime(int pid)
    {
        // /proc/PID/stat: fields 14 and 15 are utime and stime in clock ticks; the command name (field 2) may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>
    /// Bytes the process handed to write calls and how many write calls it made (<c>wchar</c>, <c>syscw</c> of
    /// <c>/proc/PID/io</c>): each store commit appends the pages it touched to SQLite's WAL, so these follow the commits.
    /// </summary>
    public static (long Bytes, long Calls) Writes(int pid)
    {
        long bytes = 0, calls = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/io"))
        {
            if (line.StartsWith("wchar:", StringComparison.Ordinal))
            {
                bytes = long.Parse(line["wchar:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("syscw:", StringComparison.Ordinal))
            {
                calls = long.Parse(line["syscw:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return (bytes, calls);
    }

    public static double RssMegabytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return double.NaN;
    }

    /// <summary>
    /// Context switches (voluntary and not) of the process's live threads: how often its threads went to sleep or were
    /// taken off a core. A thread that exited in between takes its count with it, so read it over a phase in which the
    /// process keeps its threads.
    /// </summary>
    public static long ContextSwitches(int pid)
    {
        long total = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The thread exited while the folder was read.
            }
        }

        return total;
    }
}
