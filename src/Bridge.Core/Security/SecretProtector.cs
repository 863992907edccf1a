using System.Security.Cryptography;
using System.Text;

namespace Bridge.Core.Security;

/// <summary>What <see cref="SecretProtector.Open"/> found in a stored value.</summary>
public enum StoredSecretKind
{
    /// <summary>An <c>enc:v1:</c> envelope this key opened.</summary>
    Encrypted,

    /// <summary>Plain text, written before a secrets key was configured (to be encrypted in place).</summary>
    Plaintext,

    /// <summary>An envelope made with another key, or altered: unusable, never a crash.</summary>
    Unreadable,
}

/// <summary>
/// Encrypts secrets kept in the store (puppets' access tokens) with AES-256-GCM under <c>database:secretsKey</c>.
/// Stored form: <c>enc:v1:KEYID:BASE64(nonce | ciphertext | tag)</c>; the key id is derived from the key, so a value
/// says which key made it, and the caller's context (e.g. the record's scope and key) is bound in as associated data,
/// so an envelope copied onto another record does not open.
/// </summary>
public sealed class SecretProtector
{
    public const string Prefix = "enc:v1:";
    public const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly byte[]? _key;

    /// <param name="key">32 bytes (AES-256), or null for no encryption.</param>
    /// <param name="allowPlaintext">Without a key: store secrets in plain text (<c>database:allowPlaintextSecrets</c>) instead of not at all.</param>
    public SecretProtector(byte[]? key, bool allowPlaintext = false)
    {
        if (key is not null && key.Length != KeyBytes)
        {
            throw new ArgumentException($"a secrets key must be exactly {KeyBytes} bytes", nameof(key));
        }

        _key = key?.ToArray();
        AllowPlaintext = allowPlaintext;
        KeyId = key is null ? "" : "s" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("bridge-secrets-key-id\0").Concat(key).ToArray()))[..16];
    }

    /// <summary>No key, plaintext not allowed: secrets are kept in memory only and never written.</summary>
    public static SecretProtector None { get; } = new(null);

    public bool HasKey => _key is not null;

    public bool AllowPlaintext { get; }

    /// <summary>The public id of the key (<c>s</c> and 16 hex digits), empty without a key.</summary>
    public string KeyId { get; }

    public static bool IsEnvelope(string value) => value?.StartsWith(Prefix, StringComparison.Ordinal) == true;

    /// <summary>
    /// The form in which <paramref name="secret"/> may be stored: an envelope with a key; the plain text only when the
    /// operator allowed that; otherwise null (the caller keeps the secret in memory and stores nothing).
    /// </summary>
    public string? ForStorage(string secret, string context)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (_key is null)
        {
            return AllowPlaintext ? secret : null;
        }

        var plain = Encoding.UTF8.GetBytes(secret);
        var blob = new byte[NonceBytes + plain.Length + TagBytes];
        var nonce = blob.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagBytes);
        aes.Encrypt(nonce, plain, blob.AsSpan(NonceBytes, plain.Length), blob.AsSpan(NonceBytes + plain.Length), Aad(context));
        return $"{Prefix}{KeyId}:{Convert.ToBase64String(blob)}";
    }

    /// <summary>Reads a stored value: the secret from an envelope or plain text, or <see cref="StoredSecretKind.Unreadable"/> with a reason.</summary>
    public StoredSecretKind Open(string stored, string context, out string? secret, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(stored);
        secret = null;
        problem = null;
        if (!IsEnvelope(stored))
        {
            secret = stored;
            return StoredSecretKind.Plaintext;
        }

        var rest = stored.AsSpan(Prefix.Length);
        var colon = rest.IndexOf(':');
        if (colon < 0)
        {
            problem = "malformed envelope";
            return StoredSecretKind.Unreadable;
        }

        var keyId = rest[..colon].ToString();
        if (_key is null)
        {
            problem = $"encrypted with key {keyId} but no database:secretsKey is configured";
            return StoredSecretKind.Unreadable;
        }

        if (!string.Equals(keyId, KeyId, StringComparison.Ordinal))
        {
            problem = $"encrypted with key {keyId}, not the configured key {KeyId}";
            return StoredSecretKind.Unreadable;
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(rest[(colon + 1)..].ToString());
        }
        catch (FormatException)
        {
            problem = "malformed envelope";
            return StoredSecretKind.Unreadable;
        }

        if (blob.Length < NonceBytes + TagBytes)
        {
            problem = "malformed envelope";
            return StoredSecretKind.Unreadable;
        }

        var length = blob.Length - NonceBytes - TagBytes;
        var plain = new byte[length];
        try
        {
            using var aes = new AesGcm(_key, TagBytes);
            aes.Decrypt(blob.AsSpan(0, NonceBytes), blob.AsSpan(NonceBytes, length), blob.AsSpan(NonceBytes + length), plain, Aad(context));
        }
        catch (AuthenticationTagMismatchException)
        {
            problem = "the envelope does not authenticate (altered, or moved from another record)";
            return StoredSecretKind.Unreadable;
        }

        secret = Encoding.UTF8.GetString(plain);
        return StoredSecretKind.Encrypted;
    }

    private static byte[] Aad(string context) => Encoding.UTF8.GetBytes("bridge-secret-v1\0" + (context ?? ""));
}
