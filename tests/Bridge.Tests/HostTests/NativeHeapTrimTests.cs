using System.Runtime.InteropServices;
using Bridge.Host.Composition;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.HostTests;

/// <summary>The C heap's free pages go back to the system once a minute, so native memory levels off under steady traffic.</summary>
public sealed class NativeHeapTrimTests
{
    [Fact]
    public async Task Every_tick_of_the_minute_timer_trims_the_heap()
    {
        var heap = new CountingHeap(canTrim: true);
        var timers = new ManualTimers();
        using var trim = new NativeHeapTrim(heap, NullLogger<NativeHeapTrim>.Instance, timers);
        await trim.StartAsync(CancellationToken.None);
        await timers.Created.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(TimeSpan.FromMinutes(1), timers.Period);
        Assert.Equal(0, heap.Trims);
        timers.Tick();
        Assert.True(await heap.Trimmed.WaitAsync(TimeSpan.FromSeconds(30)));
        timers.Tick();
        Assert.True(await heap.Trimmed.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, heap.Trims);
        await trim.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_heap_that_cannot_be_trimmed_gets_no_timer()
    {
        var timers = new ManualTimers();
        using var trim = new NativeHeapTrim(new CountingHeap(canTrim: false), NullLogger<NativeHeapTrim>.Instance, timers);
        await trim.StartAsync(CancellationToken.None);
        await trim.ExecuteTask!;
        Assert.False(timers.Created.IsCompleted);
    }

    [Fact]
    public void On_glibc_a_trim_returns_pages_that_frees_in_the_middle_of_the_heap_left_behind()
    {
        var heap = new GlibcHeap();
        Assert.True(heap.CanTrim, "this test machine runs Linux with glibc");

        // 16 MiB in small blocks, then one more block after them, so freeing the others leaves free pages below a block
        // in use: glibc's own trimming only gives back the top of the heap, so only malloc_trim returns these.
        var blocks = new IntPtr[64 * 1024];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = Marshal.AllocHGlobal(256);
        }

        var pin = Marshal.AllocHGlobal(256);
        try
        {
            foreach (var block in blocks)
            {
                Marshal.FreeHGlobal(block);
            }

            Assert.True(heap.Trim());
        }
        finally
        {
            Marshal.FreeHGlobal(pin);
        }
    }

    private sealed class CountingHeap(bool canTrim) : INativeHeap
    {
        private int _trims;

        public SemaphoreSlim Trimmed { get; } = new(0);

        public int Trims => Volatile.Read(ref _trims);

        public bool CanTrim => canTrim;

        public bool Trim()
        {
            Interlocked.Increment(ref _trims);
            Trimmed.Release();
            return true;
        }
    }

    /// <summary>Timers the test fires by hand.</summary>
    private sealed class ManualTimers : TimeProvider
    {
        private readonly TaskCompletionSource _created = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private (TimerCallback Callback, object? State)? _timer;

        public Task Created => _created.Task;

        public TimeSpan Period { get; private set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            (_timer, Period) = ((callback, state), period);
            _created.TrySetResult();
            return new NoTimer();
        }

        public void Tick() => _timer!.Value.Callback(_timer.Value.State);

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
