namespace Bridge.Storm;

/// <summary>How hard a storm blows: how many kills, how far apart, how much traffic, and the seed that repeats it.</summary>
public sealed record StormOptions
{
    /// <summary>Daemon kills, half SIGKILL and half SIGTERM (an odd count gives the extra one to SIGKILL).</summary>
    public int Kills { get; init; } = 100;

    /// <summary>Seeds the kill schedule (kind and interval of each kill) and every sender's choice of action.</summary>
    public int Seed { get; init; } = Environment.TickCount & 0x7fffffff;

    /// <summary>Shortest time the daemon runs between its start and the next kill.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest time the daemon runs between its start and the next kill.</summary>
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Actions (messages, edits, reactions, files) per second from each person.</summary>
    public double ActionsPerSecond { get; init; } = 5;

    /// <summary>How long the counts may stay short of complete, unchanged, before what is missing is called lost.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Where each daemon run's output is written (one file per run); null for none.</summary>
    public string? LogDirectory { get; init; }

    /// <summary>The daemon's log level for the bridge's own categories (<c>Debug</c> to see each delivery), null for its default.</summary>
    public string? DaemonLogLevel { get; init; }

    public void Validate()
    {
        if (Kills < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Kills), Kills, "kills must be 0 or more");
        }

        if (MinInterval <= TimeSpan.Zero || MaxInterval < MinInterval)
        {
            throw new ArgumentException($"the kill interval {MinInterval}..{MaxInterval} is not a range of positive times");
        }

        if (ActionsPerSecond is <= 0 or > 200)
        {
            throw new ArgumentOutOfRangeException(nameof(ActionsPerSecond), ActionsPerSecond, "actions per second must be in (0, 200]");
        }
    }
}
