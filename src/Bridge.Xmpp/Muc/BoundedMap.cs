namespace Bridge.Xmpp.Muc;

/// <summary>A dictionary that forgets its oldest entries beyond a capacity (id maps and seen-sets must not grow forever).</summary>
internal sealed class BoundedMap<TValue>(int capacity)
{
    private readonly Dictionary<string, TValue> _map = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    public void Set(string key, TValue value)
    {
        lock (_lock)
        {
            if (!_map.ContainsKey(key))
            {
                _order.Enqueue(key);
                while (_order.Count > capacity)
                {
                    _map.Remove(_order.Dequeue());
                }
            }

            _map[key] = value;
        }
    }

    /// <summary>Adds the key if absent; true if it was absent.</summary>
    public bool TryAdd(string key, TValue value)
    {
        lock (_lock)
        {
            if (_map.ContainsKey(key))
            {
                return false;
            }
        }

        Set(key, value);
        return true;
    }

    public bool TryGet(string key, out TValue value)
    {
        lock (_lock)
        {
            return _map.TryGetValue(key, out value!);
        }
    }

    public bool Contains(string key)
    {
        lock (_lock)
        {
            return _map.ContainsKey(key);
        }
    }
}
