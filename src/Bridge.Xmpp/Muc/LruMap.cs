namespace Bridge.Xmpp.Muc;

/// <summary>
/// A dictionary of at most <c>capacity</c> entries that forgets the least recently used one first. The connector's
/// per-message id maps and seen-sets are caches of what the store keeps (the saved id maps in connector state, the
/// core's dedupe): bounded, the process levels off under steady traffic instead of growing with every message.
/// </summary>
internal sealed class LruMap<TValue>
{
    // Both made together by the first Set: every linked room has three of these maps, and in most rooms some stay empty
    // for a long time (no correction, no catch-up), so an empty map holds no dictionary and no list.
    private Dictionary<string, LinkedListNode<(string Key, TValue Value)>>? _map;
    private LinkedList<(string Key, TValue Value)>? _recency; // most recent first
    private readonly Lock _lock = new();

    public LruMap(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map?.Count ?? 0;
            }
        }
    }

    /// <summary>Adds or replaces the entry and makes it the most recent; the least recent goes when over capacity.</summary>
    public void Set(string key, TValue value)
    {
        lock (_lock)
        {
            _map ??= new Dictionary<string, LinkedListNode<(string, TValue)>>(StringComparer.Ordinal);
            _recency ??= new LinkedList<(string, TValue)>();
            if (_map.TryGetValue(key, out var node))
            {
                node.Value = (key, value);
                Touch(_recency, node);
                return;
            }

            _map[key] = _recency.AddFirst((key, value));
            if (_map.Count > Capacity)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _map.Remove(oldest.Value.Key);
            }
        }
    }

    /// <summary>The value, if still held (and makes it the most recent).</summary>
    public bool TryGet(string key, out TValue value)
    {
        lock (_lock)
        {
            if (_map is not null && _map.TryGetValue(key, out var node))
            {
                Touch(_recency!, node);
                value = node.Value.Value;
                return true;
            }

            value = default!;
            return false;
        }
    }

    public bool Contains(string key) => TryGet(key, out _);

    private static void Touch(LinkedList<(string Key, TValue Value)> recency, LinkedListNode<(string Key, TValue Value)> node)
    {
        if (node != recency.First)
        {
            recency.Remove(node);
            recency.AddFirst(node);
        }
    }
}
