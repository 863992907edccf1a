using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Composition;

/// <summary>
/// Gives the C heap's free pages back to the system at a steady pace. Under steady traffic the managed heap stays
/// level (the per-message maps are bounded caches; <c>scripts/bench.sh --soak</c> prints the heap every minute), but
/// SQLite, TLS and the runtime allocate natively from whichever thread-pool thread runs them, and glibc keeps what they
/// free in its arenas for reuse, never returning pages below one still in use. A trim walks the arenas and returns
/// their free pages, once a minute.
/// </summary>
internal sealed class NativeHeapTrim(INativeHeap heap, ILogger<NativeHeapTrim> logger, TimeProvider time) : BackgroundService
{
    /// <summary>How often the free pages are returned: long enough to cost nothing, short enough to keep the growth flat.</summary>
    public static readonly TimeSpan TrimEvery = TimeSpan.FromMinutes(1);

    private static readonly EventId Trimmed = new(961, "NativeHeapTrimmed");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!heap.CanTrim)
        {
            return;
        }

        using var timer = new PeriodicTimer(TrimEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var released = heap.Trim();
                logger.LogDebug(Trimmed, "C heap trimmed (memory given back: {Released})", released);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>The process's C heap, as far as the bridge manages it.</summary>
internal interface INativeHeap
{
    /// <summary>Whether <see cref="Trim"/> does anything on this system.</summary>
    bool CanTrim { get; }

    /// <summary>Returns free pages to the system; true when some were returned.</summary>
    bool Trim();
}

/// <summary>
/// glibc's heap (Linux with the GNU C library; elsewhere nothing is done). Also caps the number of arenas: by default
/// glibc makes up to eight per core, one per thread that allocates while the others are busy, and free memory in one
/// arena is no use to a thread using another; two are enough for a daemon whose native work is one store connection.
/// </summary>
internal sealed class GlibcHeap : INativeHeap
{
    private const int MallocArenaMax = -8; // M_ARENA_MAX in malloc.h

    /// <summary>The arenas the daemon keeps (what <c>MALLOC_ARENA_MAX</c> would set; the environment variable wins).</summary>
    public const int Arenas = 2;

    private static readonly Lazy<bool> IsGlibc = new(() =>
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return GnuGetLibcVersion() != IntPtr.Zero;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // musl (Alpine) and others: their allocators behave differently and have no malloc_trim
        }
    });

    public bool CanTrim => IsGlibc.Value;

    public bool Trim() => CanTrim && MallocTrim(0) == 1;

    /// <summary>
    /// Caps the arenas, unless <c>MALLOC_ARENA_MAX</c> is set (an operator's choice). Called first thing at start:
    /// arenas made before it stay, later threads share the capped ones.
    /// </summary>
    public static void LimitArenas()
    {
        if (IsGlibc.Value && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX")))
        {
            _ = MallOpt(MallocArenaMax, Arenas);
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static extern IntPtr GnuGetLibcVersion();
}
