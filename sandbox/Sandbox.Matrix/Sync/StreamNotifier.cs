namespace Sandbox.Matrix.Sync;

/// <summary>Wakes long-polling <c>/sync</c> requests when any event is persisted.</summary>
internal sealed class StreamNotifier
{
    private readonly object _gate = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task NextAsync()
    {
        lock (_gate)
        {
            return _next.Task;
        }
    }

    public void Notify()
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            done = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        done.TrySetResult();
    }
}
