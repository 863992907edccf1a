using System.Collections.Concurrent;
using Bridge.Core.Storage;
using Bridge.Mattermost.Inbound;
using Bridge.Testing;

namespace Bridge.Mattermost.Tests;

/// <summary>
/// <see cref="ChannelCursors"/> on its own: progress is written later, every moved cursor in one store call, a start
/// is written before it is used, a channel that is no longer heard never gets its position back, and a failed write
/// keeps the positions for the next save.
/// </summary>
public sealed class ChannelCursorsTests
{
    private const string Scope = "mattermost:mm:cursor";
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Moves_are_written_together_by_the_next_save_and_only_forward()
    {
        var state = new InMemoryStateStore();
        var cursors = new ChannelCursors(state, Scope, _ => true);
        cursors.Load("a", 100);
        cursors.Load("b", 100);

        for (var i = 1; i <= 30; i++)
        {
            Assert.True(cursors.Advance(i % 2 == 0 ? "a" : "b", 100 + i));
        }
        Assert.False(cursors.Advance("a", 50)); // never back
        Assert.Empty(state.Sets);
        Assert.Empty(state.SetManys);
        Assert.Equal(130, cursors.Get("a"));

        Assert.Equal(2, await cursors.SaveAsync(Ct));
        Assert.Equal(0, await cursors.SaveAsync(Ct)); // nothing moved since: no write at all

        var write = Assert.Single(state.SetManys);
        Assert.Equal(Scope, write.Scope);
        Assert.Equal(["a", "b"], write.Keys.Order());
        Assert.Equal("130", await state.GetAsync(Scope, "a", Ct));
        Assert.Equal("129", await state.GetAsync(Scope, "b", Ct));
    }

    [Fact]
    public async Task A_start_is_written_before_it_returns_in_one_call_for_many_channels()
    {
        var state = new InMemoryStateStore();
        var cursors = new ChannelCursors(state, Scope, _ => true);

        await cursors.StartAtAsync([.. Enumerable.Range(0, 500).Select(i => $"c{i}")], 42, Ct);

        var write = Assert.Single(state.SetManys);
        Assert.Equal(500, write.Keys.Count);
        Assert.Equal("42", await state.GetAsync(Scope, "c499", Ct));
        Assert.True(cursors.Has("c0"));
        Assert.Equal(0, await cursors.SaveAsync(Ct)); // the start is not written again
    }

    [Fact]
    public async Task A_channel_no_longer_heard_is_left_out_and_a_forget_waits_for_a_save_under_way()
    {
        var heard = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal) { ["a"] = true, ["b"] = true };
        var state = new HoldingStateStore();
        var cursors = new ChannelCursors(state, Scope, c => heard.ContainsKey(c));
        cursors.Load("a", 1);
        cursors.Load("b", 1);
        cursors.Advance("a", 10);
        cursors.Advance("b", 20);

        // A save has asked who is heard and is writing, slowly, when "a" is unlinked.
        var saving = cursors.SaveAsync(Ct);
        await state.WriteBegun.Task.WaitAsync(TimeSpan.FromSeconds(10));
        heard.TryRemove("a", out _);
        var forgetting = cursors.ForgetAsync("a", Ct);
        await Task.Delay(50);
        Assert.False(forgetting.IsCompleted); // waits for the save, or the save would write "a" back after the delete
        state.Release.SetResult();
        await saving;
        await forgetting;
        Assert.Null(await state.GetAsync(Scope, "a", Ct));
        Assert.Equal("20", await state.GetAsync(Scope, "b", Ct));

        // A late move for the unlinked channel (a lane that checked before the unlink) is never written, nor kept.
        Assert.False(cursors.Advance("a", 30));
        Assert.False(cursors.Has("a"));
        cursors.Advance("b", 40);
        Assert.Equal(1, await cursors.SaveAsync(Ct));
        Assert.Null(await state.GetAsync(Scope, "a", Ct));
        Assert.Equal("40", await state.GetAsync(Scope, "b", Ct));
    }

    [Fact]
    public async Task A_failed_write_keeps_the_positions_for_the_next_save()
    {
        var state = new HoldingStateStore { Fail = true };
        state.Release.SetResult();
        var cursors = new ChannelCursors(state, Scope, _ => true);
        cursors.Load("a", 1);
        cursors.Load("b", 1);
        cursors.Advance("a", 10);
        cursors.Advance("b", 20);

        await Assert.ThrowsAsync<IOException>(() => cursors.SaveAsync(Ct));
        cursors.Advance("b", 25); // moved again meanwhile: the newer position is the one written

        state.Fail = false;
        Assert.Equal(2, await cursors.SaveAsync(Ct));
        Assert.Equal("10", await state.GetAsync(Scope, "a", Ct));
        Assert.Equal("25", await state.GetAsync(Scope, "b", Ct));
    }

    [Fact]
    public async Task A_start_that_was_not_written_is_not_taken_as_started()
    {
        var state = new HoldingStateStore { Fail = true };
        state.Release.SetResult();
        var cursors = new ChannelCursors(state, Scope, _ => true);

        await Assert.ThrowsAsync<IOException>(() => cursors.StartAtAsync(["dm"], 42, Ct));
        Assert.False(cursors.Has("dm")); // so the next attempt starts it again, and writes it
        Assert.False(cursors.Advance("dm", 50));

        state.Fail = false;
        await cursors.StartAtAsync(["dm"], 43, Ct);
        Assert.Equal("43", await state.GetAsync(Scope, "dm", Ct));
    }

    [Fact]
    public void A_channel_never_started_gets_no_position_from_a_move()
    {
        var cursors = new ChannelCursors(new InMemoryStateStore(), Scope, _ => true);
        Assert.False(cursors.Advance("x", 10));
        Assert.False(cursors.Has("x"));
    }

    /// <summary>A state store whose <see cref="SetManyAsync"/> waits for <see cref="Release"/>, or fails while <see cref="Fail"/>.</summary>
    private sealed class HoldingStateStore : IConnectorStateStore
    {
        private readonly InMemoryStateStore _inner = new();

        public TaskCompletionSource WriteBegun { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Fail { get; set; }

        public async Task SetManyAsync(string scope, IReadOnlyList<KeyValuePair<string, string>> entries, CancellationToken cancellationToken)
        {
            WriteBegun.TrySetResult();
            await Release.Task;
            if (Fail)
            {
                throw new IOException("disk full");
            }

            await _inner.SetManyAsync(scope, entries, cancellationToken);
        }

        public Task<string?> GetAsync(string scope, string key, CancellationToken cancellationToken) => _inner.GetAsync(scope, key, cancellationToken);
        public Task SetAsync(string scope, string key, string value, CancellationToken cancellationToken) => _inner.SetAsync(scope, key, value, cancellationToken);
        public Task DeleteAsync(string scope, string key, CancellationToken cancellationToken) => _inner.DeleteAsync(scope, key, cancellationToken);
        public Task<bool> TryAddAsync(string scope, string key, string value, CancellationToken cancellationToken) => _inner.TryAddAsync(scope, key, value, cancellationToken);
        public Task<IReadOnlyDictionary<string, string>> ListAsync(string scope, CancellationToken cancellationToken) => _inner.ListAsync(scope, cancellationToken);
    }
}
