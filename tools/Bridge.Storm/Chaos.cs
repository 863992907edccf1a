using System.Globalization;
using Bridge.Testing;

namespace Bridge.Storm;

public enum KillKind
{
    Sigkill,
    Sigterm,
}

/// <summary>One kill: which, when (since the storm's start), how the daemon ended, how long its restart took.</summary>
public sealed record KillRecord(int Index, KillKind Kind, TimeSpan At, int? ExitCode, TimeSpan Restart, string? Problem);

/// <summary>
/// Kills the daemon at random points (a random time after each start), half with SIGKILL and half with SIGTERM in a
/// seeded order, and restarts it at once on the same configuration and store.
/// </summary>
internal sealed class Chaos(StormOptions options, string configPath, TextWriter log)
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private int _run;

    public BridgeProcess? Bridge { get; private set; }

    public List<KillRecord> Kills { get; } = [];

    /// <summary>The kill schedule a seed gives: the kinds in order and the time from each start to its kill.</summary>
    public static IReadOnlyList<(KillKind Kind, TimeSpan After)> Schedule(StormOptions options)
    {
        var random = new Random(options.Seed);
        var kinds = Enumerable.Range(0, options.Kills).Select(i => i < (options.Kills + 1) / 2 ? KillKind.Sigkill : KillKind.Sigterm).ToArray();
        random.Shuffle(kinds);
        var span = (options.MaxInterval - options.MinInterval).TotalMilliseconds;
        return [.. kinds.Select(k => (k, options.MinInterval + TimeSpan.FromMilliseconds(random.NextDouble() * span)))];
    }

    public async Task StartAsync()
    {
        Bridge = await BridgeProcess.StartAsync(configPath, StartTimeout);
    }

    public async Task RunAsync(DateTimeOffset stormStart, CancellationToken cancellationToken)
    {
        var schedule = Schedule(options);
        for (var i = 0; i < schedule.Count; i++)
        {
            var (kind, after) = schedule[i];
            await Task.Delay(after, cancellationToken);
            var at = DateTimeOffset.UtcNow - stormStart;
            int? exit = null;
            string? problem = null;
            if (kind == KillKind.Sigkill)
            {
                await Bridge!.KillAsync();
            }
            else
            {
                try
                {
                    exit = await Bridge!.TerminateAsync(StopTimeout);
                    if (exit != 0)
                    {
                        problem = $"exit code {exit} after SIGTERM";
                    }
                }
                catch (OperationCanceledException)
                {
                    problem = $"did not stop within {StopTimeout.TotalSeconds:0} s of SIGTERM; killed";
                    await Bridge!.KillAsync();
                }
            }

            await SaveOutputAsync($"{kind} #{i + 1}");
            var restartStarted = DateTimeOffset.UtcNow;
            await RestartAsync();
            var record = new KillRecord(i + 1, kind, at, exit, DateTimeOffset.UtcNow - restartStarted, problem);
            Kills.Add(record);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"storm: kill {record.Index}/{schedule.Count} {kind} at {at.TotalSeconds:0.0} s, restarted in {record.Restart.TotalSeconds:0.0} s{(problem is null ? "" : " — " + problem)}"));
        }
    }

    /// <summary>The last run ends with a graceful stop; its output is kept like every other run's.</summary>
    public async Task StopAsync()
    {
        if (Bridge is null)
        {
            return;
        }

        try
        {
            await Bridge.TerminateAsync(StopTimeout);
        }
        catch (OperationCanceledException)
        {
            log.WriteLine("storm: the last run did not stop within 30 s of SIGTERM; killed");
        }

        await SaveOutputAsync("final stop");
        await Bridge.DisposeAsync();
        Bridge = null;
    }

    private async Task RestartAsync()
    {
        await Bridge!.DisposeAsync();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Bridge = await BridgeProcess.StartAsync(configPath, StartTimeout);
                return;
            }
            catch (Exception ex) when (attempt < 3 && ex is InvalidOperationException or TimeoutException)
            {
                log.WriteLine($"storm: restart attempt {attempt} failed: {ex.Message.Split('\n')[0]}");
            }
        }
    }

    private async Task SaveOutputAsync(string why)
    {
        _run++;
        if (options.LogDirectory is null || Bridge is null)
        {
            return;
        }

        Directory.CreateDirectory(options.LogDirectory);
        var file = Path.Combine(options.LogDirectory, $"run-{_run:D3}.log");
        await File.WriteAllTextAsync(file, $"# ended by {why}\n{Bridge.Output}");
    }
}
