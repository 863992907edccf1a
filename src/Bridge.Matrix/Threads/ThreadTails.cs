namespace Bridge.Matrix.Threads;

/// <summary>
/// The newest event this connector knows in each Matrix thread (per root), for the reply fallback of <c>m.thread</c>:
/// clients without threads show a thread message as a reply to the thread's latest event. Bounded: past the cap the
/// oldest threads are forgotten and their fallback points at the root, which every client can still show.
/// </summary>
internal sealed class ThreadTails(int capacity = 4096)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Root, string Tail)>> _byRoot = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Root, string Tail)> _recency = new();

    /// <summary>The newest known event in the thread of <paramref name="rootEventId"/>, or the root itself.</summary>
    public string TailOf(string rootEventId)
    {
        lock (_gate)
        {
            return _byRoot.TryGetValue(rootEventId, out var node) ? node.Value.Tail : rootEventId;
        }
    }

    public void Advance(string rootEventId, string eventId)
    {
        lock (_gate)
        {
            if (_byRoot.Remove(rootEventId, out var old))
            {
                _recency.Remove(old);
            }

            _byRoot[rootEventId] = _recency.AddFirst((rootEventId, eventId));
            while (_byRoot.Count > capacity && _recency.Last is { } oldest)
            {
                _recency.RemoveLast();
                _byRoot.Remove(oldest.Value.Root);
            }
        }
    }
}
