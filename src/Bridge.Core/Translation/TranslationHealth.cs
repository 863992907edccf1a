namespace Bridge.Core.Translation;

/// <summary>
/// Whether each engine is answering, for <c>/healthz</c>: an engine is out after its last translation failed or ran
/// past the time budget, and back with its next success. Thread-safe.
/// </summary>
public sealed class TranslationHealth
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _out = new(StringComparer.Ordinal);

    /// <summary>The engines that are out, with why (empty when all answer).</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_gate)
            {
                return _out.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"translation engine {kv.Key} ({kv.Value})").ToList();
            }
        }
    }

    /// <summary>Whether <paramref name="engine"/> is out.</summary>
    public bool IsOut(string engine)
    {
        lock (_gate)
        {
            return _out.ContainsKey(engine);
        }
    }

    internal void Failed(string engine, string reason)
    {
        lock (_gate)
        {
            _out[engine] = reason;
        }
    }

    internal void Succeeded(string engine)
    {
        lock (_gate)
        {
            _out.Remove(engine);
        }
    }
}
