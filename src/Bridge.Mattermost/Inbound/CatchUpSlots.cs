using System.Diagnostics;

namespace Bridge.Mattermost.Inbound;

/// <summary>
/// Turns for the catch-ups that read the server: at most <c>capacity</c> at once, in the order they asked, except that
/// a channel someone is talking in goes first. A channel's live events wait behind its own catch-up (that is how its
/// order is kept), so a reconnect's catch-up of a thousand quiet channels must not hold a live conversation until the
/// whole round is done.
/// </summary>
internal sealed class CatchUpSlots
{
    private readonly Lock _gate = new();
    private readonly int _capacity;
    private readonly LinkedList<Turn> _urgent = new();
    private readonly LinkedList<Turn> _queued = new();
    private readonly Dictionary<string, LinkedListNode<Turn>> _waiting = new(StringComparer.Ordinal);
    /// <summary>Catch-ups posted to their lane and not yet asking, per key (a second round may post one more).</summary>
    private readonly Dictionary<string, int> _expected = new(StringComparer.Ordinal);
    private readonly HashSet<string> _hurried = new(StringComparer.Ordinal);
    private int _taken;

    public CatchUpSlots(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>
    /// A catch-up of <paramref name="key"/> is on its way (posted to its lane, not yet asking for a turn): a
    /// <see cref="Hurry"/> before it asks still counts.
    /// </summary>
    public void Expect(string key)
    {
        lock (_gate)
        {
            _expected[key] = _expected.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>
    /// Live traffic of <paramref name="key"/> waits behind its catch-up: that catch-up goes before the others still
    /// waiting, and so do those of the key still on their way. False when there was nothing to hurry.
    /// </summary>
    public bool Hurry(string key)
    {
        lock (_gate)
        {
            var hurried = false;
            if (_waiting.TryGetValue(key, out var node) && node.List == _queued)
            {
                _queued.Remove(node);
                _urgent.AddLast(node);
                hurried = true;
            }

            if (_expected.ContainsKey(key))
            {
                hurried |= _hurried.Add(key);
            }

            return hurried;
        }
    }

    /// <summary>Waits for a turn; <see cref="Release"/> gives it back.</summary>
    public async Task WaitAsync(string key, CancellationToken cancellationToken)
    {
        LinkedListNode<Turn> node;
        lock (_gate)
        {
            var urgent = _hurried.Contains(key);
            if (_expected.TryGetValue(key, out var expected) && expected > 1)
            {
                _expected[key] = expected - 1;
            }
            else
            {
                // The last one on its way: the mark has done its work.
                _expected.Remove(key);
                _hurried.Remove(key);
            }

            if (_taken < _capacity)
            {
                _taken++;
                return;
            }

            node = new LinkedListNode<Turn>(new Turn(key));
            (urgent ? _urgent : _queued).AddLast(node);
            _waiting[key] = node;
        }

        try
        {
            await node.Value.Granted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            bool granted;
            lock (_gate)
            {
                granted = node.List is null;
                if (!granted)
                {
                    node.List!.Remove(node);
                    Forget(node);
                }
            }

            if (granted)
            {
                Release(); // given to us as we gave up: pass it on
            }

            throw;
        }
    }

    public void Release()
    {
        LinkedListNode<Turn>? next;
        lock (_gate)
        {
            next = _urgent.First ?? _queued.First;
            if (next is null)
            {
                Debug.Assert(_taken > 0, "a turn given back that was never taken");
                _taken--;
                return;
            }

            next.List!.Remove(next);
            Forget(next);
        }

        next.Value.Granted.TrySetResult(); // the turn passes on as it is: _taken stays
    }

    private void Forget(LinkedListNode<Turn> node)
    {
        if (_waiting.TryGetValue(node.Value.Key, out var current) && current == node)
        {
            _waiting.Remove(node.Value.Key);
        }
    }

    private sealed record Turn(string Key)
    {
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
