using System.Security.Cryptography;
using Bridge.Core.Security;

namespace Bridge.Tests.Core;

public sealed class SecretProtectorTests
{
    private static SecretProtector NewKey() => new(RandomNumberGenerator.GetBytes(SecretProtector.KeyBytes));

    [Fact]
    public void A_secret_round_trips_and_the_stored_form_does_not_contain_it()
    {
        var key = NewKey();
        const string token = "xoxo-personal-access-token-1234567890";
        var stored = key.ForStorage(token, "ctx")!;

        Assert.StartsWith($"enc:v1:{key.KeyId}:", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(token, stored, StringComparison.Ordinal);
        Assert.NotEqual(stored, key.ForStorage(token, "ctx")); // a fresh nonce every time
        Assert.Equal(StoredSecretKind.Encrypted, key.Open(stored, "ctx", out var opened, out var problem));
        Assert.Equal(token, opened);
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("enc:v1:")]
    [InlineData("enc:v1:nokeyid")]
    [InlineData("enc:v1:{id}:not base64!")]
    [InlineData("enc:v1:{id}:AAAA")]
    public void Malformed_envelopes_are_unreadable_not_exceptions(string value)
    {
        var key = NewKey();
        Assert.Equal(StoredSecretKind.Unreadable, key.Open(value.Replace("{id}", key.KeyId, StringComparison.Ordinal), "ctx", out var secret, out var problem));
        Assert.Null(secret);
        Assert.NotNull(problem);
    }

    [Fact]
    public void A_wrong_key_an_altered_envelope_or_another_record_does_not_open()
    {
        var key = NewKey();
        var stored = key.ForStorage("secret-token", "puppets/alice")!;

        Assert.Equal(StoredSecretKind.Unreadable, NewKey().Open(stored, "puppets/alice", out _, out var wrongKey));
        Assert.Contains("not the configured key", wrongKey, StringComparison.Ordinal);
        Assert.Equal(StoredSecretKind.Unreadable, SecretProtector.None.Open(stored, "puppets/alice", out _, out var noKey));
        Assert.Contains("no database:secretsKey", noKey, StringComparison.Ordinal);
        Assert.Equal(StoredSecretKind.Unreadable, key.Open(stored, "puppets/bob", out _, out _));

        var blob = Convert.FromBase64String(stored[(stored.LastIndexOf(':') + 1)..]);
        blob[^1] ^= 1;
        var altered = stored[..(stored.LastIndexOf(':') + 1)] + Convert.ToBase64String(blob);
        Assert.Equal(StoredSecretKind.Unreadable, key.Open(altered, "puppets/alice", out _, out var tampered));
        Assert.Contains("does not authenticate", tampered, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_key_secrets_are_not_stored_unless_plaintext_is_allowed()
    {
        Assert.Null(SecretProtector.None.ForStorage("t", "ctx"));
        Assert.Equal("t", new SecretProtector(null, allowPlaintext: true).ForStorage("t", "ctx"));
        Assert.Equal(StoredSecretKind.Plaintext, NewKey().Open("legacy-plain-token", "ctx", out var plain, out _));
        Assert.Equal("legacy-plain-token", plain);
        Assert.Throws<ArgumentException>(() => new SecretProtector(new byte[16]));
    }
}
