using System.Security.Cryptography;
using System.Text;

namespace Bridge.Host.Admin.Access;

/// <summary>
/// A bearer token as the configuration keeps it: <c>sha256:&lt;64 hex digits&gt;</c>, the SHA-256 of the token's UTF-8
/// bytes. A plain hash (no salt, no stretching) is enough because tokens are random (32 bytes from
/// <c>bridge admin hash-token --generate</c>): nothing can be guessed from the hash; stretching only helps
/// low-entropy passwords, which tokens must not be.
/// </summary>
internal sealed class TokenHash
{
    public const string Prefix = "sha256:";
    private readonly byte[] _digest;

    private TokenHash(byte[] digest) => _digest = digest;

    /// <summary>Reads a configured hash; null (with the reason) when it is not one.</summary>
    public static TokenHash? Parse(string? text, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "required: sha256:<64 hex digits> (bridge admin hash-token prints one)";
            return null;
        }

        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            // Never quote the value: it may be the token itself, pasted by mistake.
            problem = "must be sha256:<64 hex digits> (bridge admin hash-token prints one); never the token itself";
            return null;
        }

        var hex = text[Prefix.Length..];
        if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
        {
            problem = "must be sha256: followed by exactly 64 hex digits";
            return null;
        }

        return new TokenHash(Convert.FromHexString(hex));
    }

    /// <summary>The configuration form of <paramref name="token"/>'s hash.</summary>
    public static string Of(string token) => Prefix + Convert.ToHexStringLower(Digest(token));

    public static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Compares in constant time (the digest of the presented token against this one).</summary>
    public bool Matches(ReadOnlySpan<byte> presentedDigest) => CryptographicOperations.FixedTimeEquals(_digest, presentedDigest);
}
