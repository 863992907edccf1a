namespace Bridge.Core.Translation;

/// <summary>
/// The most recent translations (least recently used dropped first), so that a retried delivery, or one message going
/// to several rooms of the same language, asks the engine once. Holds only what was translated successfully.
/// </summary>
internal sealed class TranslationCache(int capacity)
{
    private readonly record struct Key(string Engine, string From, string To, string Text);

    private readonly Lock _gate = new();
    private readonly Dictionary<Key, LinkedListNode<(Key Key, string Value)>> _map = [];
    private readonly LinkedList<(Key Key, string Value)> _order = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _map.Count;
            }
        }
    }

    public bool TryGet(string engine, string from, string to, string text, out string translated)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(new Key(engine, from, to, text), out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                translated = node.Value.Value;
                return true;
            }
        }

        translated = "";
        return false;
    }

    public void Add(string engine, string from, string to, string text, string translated)
    {
        if (capacity <= 0)
        {
            return;
        }

        var key = new Key(engine, from, to, text);
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var existing))
            {
                _order.Remove(existing);
            }

            var node = _order.AddFirst((key, translated));
            _map[key] = node;
            while (_map.Count > capacity && _order.Last is { } last)
            {
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }
    }
}
