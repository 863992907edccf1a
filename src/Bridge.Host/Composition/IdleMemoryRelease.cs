using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Composition;

/// <summary>
/// Gives memory back to the system once the bridge has gone quiet after a busy spell. The GC keeps the heap it grew
/// during a burst for the next one; a bridge is mostly idle between bursts, so after a quiet spell it compacts once and
/// returns the free space (an aggressive collection decommits it). Never while traffic flows: that would cost CPU on
/// the hot path for nothing.
/// </summary>
internal sealed class IdleMemoryRelease(ILogger<IdleMemoryRelease> logger, TimeProvider time) : BackgroundService
{
    private static readonly EventId Released = new(960, "MemoryReleased");
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(10);

    private readonly IdleSpell _spell = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_spell.Observe(GC.GetTotalAllocatedBytes()))
                {
                    var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    logger.LogDebug(Released, "Quiet after {Allocated:N0} bytes allocated: heap committed {Before:N0} -> {After:N0} bytes",
                        _spell.LastBusyBytes, before, GC.GetGCMemoryInfo().TotalCommittedBytes);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>
/// Decides, from the process's allocation counter read at a steady pace, when a busy spell has ended: two readings in a
/// row that allocated almost nothing, after at least <see cref="BusyBytes"/> since the last release.
/// </summary>
internal sealed class IdleSpell
{
    /// <summary>Allocations between two readings that still count as quiet (keep-alives, timers, health checks).</summary>
    public const long QuietBytes = 512 * 1024;

    /// <summary>How much must have been allocated since the last release for one to be worth its pause.</summary>
    public const long BusyBytes = 32L * 1024 * 1024;

    private long? _previous;
    private long _sinceRelease;
    private int _quietReadings;

    /// <summary>What was allocated in the spell that the last release ended.</summary>
    public long LastBusyBytes { get; private set; }

    /// <summary>Takes one reading of the allocation counter; true when memory should be released now.</summary>
    public bool Observe(long allocatedBytes)
    {
        var delta = _previous is { } p ? Math.Max(0, allocatedBytes - p) : 0;
        _previous = allocatedBytes;
        _sinceRelease += delta;
        _quietReadings = delta <= QuietBytes ? _quietReadings + 1 : 0;
        if (_quietReadings < 2 || _sinceRelease < BusyBytes)
        {
            return false;
        }

        LastBusyBytes = _sinceRelease;
        _sinceRelease = 0;
        return true;
    }
}
