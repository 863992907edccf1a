namespace Bridge.Host.Admin.Access;

/// <summary>
/// The configured bearer tokens. A presented token is hashed once and compared with every configured hash in constant
/// time, without stopping at the first match, so the time taken says nothing about which hash (if any) was close.
/// </summary>
internal sealed class AdminTokens
{
    private readonly IReadOnlyList<(string Name, TokenHash Hash, AdminRole Role)> _tokens;

    public AdminTokens(IEnumerable<(string Name, TokenHash Hash, AdminRole Role)> tokens) => _tokens = [.. tokens];

    public static AdminTokens None { get; } = new([]);

    public bool IsEmpty => _tokens.Count == 0;

    /// <summary>The caller a presented token stands for; null when it matches no configured token.</summary>
    public AdminCaller? Find(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var digest = TokenHash.Digest(presented);
        AdminCaller? found = null;
        foreach (var (name, hash, role) in _tokens)
        {
            // No early exit: every configured hash is compared whatever the outcome.
            if (hash.Matches(digest) && found is null)
            {
                found = new AdminCaller(name, role);
            }
        }

        return found;
    }
}
