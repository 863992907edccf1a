using System.Security.Cryptography;
using System.Text;

namespace Bridge.Core.Audit;

/// <summary>
/// One HMAC-SHA256 key of the audit chain. Its id is derived from the key (not configured separately), so a record's
/// key id always names the key that made its MAC and the configuration cannot pair an id with the wrong key.
/// The secret never leaves this type: no property exposes it and <see cref="ToString"/> prints the id only.
/// </summary>
public sealed class AuditKey
{
    /// <summary>Shorter keys are refused: HMAC-SHA256 needs 256 bits to resist guessing.</summary>
    public const int MinimumBytes = 32;

    private readonly byte[] _secret;

    public AuditKey(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < MinimumBytes)
        {
            throw new ArgumentException($"an audit key must be at least {MinimumBytes} bytes", nameof(secret));
        }

        _secret = secret.ToArray();
        var idInput = Encoding.UTF8.GetBytes("bridge-audit-key-id\0").Concat(_secret).ToArray();
        Id = "k" + Convert.ToHexStringLower(SHA256.HashData(idInput))[..16];
    }

    /// <summary>A public name of the key, stored with every record it MACs (<c>k</c> and 16 hex digits).</summary>
    public string Id { get; }

    public string Mac(byte[] canonical) => Convert.ToHexStringLower(HMACSHA256.HashData(_secret, canonical));

    public override string ToString() => Id;
}

/// <summary>
/// The audit keys in force: the current one (new records are MACed with it) and retired ones (kept only to verify the
/// records they made). Empty when the operator configured no key: records are then plain SHA-256 chained.
/// </summary>
public sealed class AuditKeyRing
{
    private readonly Dictionary<string, AuditKey> _byId;

    public AuditKeyRing(AuditKey? current, IEnumerable<AuditKey>? retired = null)
    {
        Current = current;
        _byId = new Dictionary<string, AuditKey>(StringComparer.Ordinal);
        foreach (var key in retired ?? [])
        {
            _byId.TryAdd(key.Id, key);
        }

        if (current is not null)
        {
            _byId[current.Id] = current;
        }
    }

    public static AuditKeyRing None { get; } = new(null);

    /// <summary>The key new records are MACed with; null when the trail is plain hashed.</summary>
    public AuditKey? Current { get; }

    /// <summary>True when any key (current or retired) is configured.</summary>
    public bool HasKeys => _byId.Count > 0;

    public bool TryGet(string keyId, out AuditKey key) => _byId.TryGetValue(keyId, out key!);
}
