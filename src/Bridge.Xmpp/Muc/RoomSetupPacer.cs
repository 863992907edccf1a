namespace Bridge.Xmpp.Muc;

/// <summary>
/// Bounds how many room set-up requests (a join with its room unlock, one archive query) wait on the server at once.
/// Started all together, 1,000 new rooms put 1,000 joins, unlocks and archive queries in front of the server in the
/// same instant and the last of them hit the join timeout; paced, each waits here instead, where no timeout runs.
/// </summary>
internal sealed class RoomSetupPacer(int limit)
{
    private readonly SemaphoreSlim _slots = new(limit, limit);

    /// <summary>Runs <paramref name="request"/> once a slot is free; the slot is held until it ends, however it ends.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> request, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await request();
        }
        finally
        {
            _slots.Release();
        }
    }
}
