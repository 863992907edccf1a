using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bridge.Core.Security;

namespace Bridge.Mattermost.Tests;

/// <summary>Puppets' personal access tokens at rest: encrypted with the secrets key, migrated in place, never a crash.</summary>
public sealed class PuppetTokenStorageTests
{
    private const string Scope = "mattermost:" + MmHarness.Network + ":puppets";

    private static SecretProtector NewKey() => new(RandomNumberGenerator.GetBytes(SecretProtector.KeyBytes));

    [Fact]
    public async Task The_stored_token_is_an_envelope_that_opens_to_a_token_the_server_accepts()
    {
        await using var h = await MmHarness.StartAsync();
        var key = NewKey();
        h.Secrets = key;
        await RestartAsync(h);
        await h.DeliverTextAsync("hello");

        var (personKey, stored) = SinglePuppet(h);
        Assert.StartsWith($"enc:v1:{key.KeyId}:", stored, StringComparison.Ordinal);
        Assert.Equal(StoredSecretKind.Encrypted, key.Open(stored, Context(personKey), out var token, out _));
        Assert.DoesNotContain(token!, (await h.State.ListAsync(Scope, default))[personKey], StringComparison.Ordinal);
        Assert.True(await TokenWorksAsync(h, token!));

        // The envelope is bound to its record: copied onto another puppet's key it does not open.
        Assert.Equal(StoredSecretKind.Unreadable, key.Open(stored, Context("someone-else"), out _, out _));
    }

    [Fact]
    public async Task A_plaintext_token_from_an_older_store_is_encrypted_in_place_idempotently()
    {
        await using var h = await MmHarness.StartAsync();
        h.Secrets = new SecretProtector(null, allowPlaintext: true);
        await RestartAsync(h);
        await h.DeliverTextAsync("written by an older version");
        var (personKey, plain) = SinglePuppet(h);
        Assert.False(SecretProtector.IsEnvelope(plain));
        Assert.True(await TokenWorksAsync(h, plain));

        var key = NewKey();
        h.Secrets = key;
        await RestartAsync(h);
        var (_, migrated) = SinglePuppet(h);
        Assert.True(SecretProtector.IsEnvelope(migrated));
        Assert.Equal(StoredSecretKind.Encrypted, key.Open(migrated, Context(personKey), out var token, out _));
        Assert.Equal(plain, token);

        await RestartAsync(h);
        Assert.Equal(migrated, SinglePuppet(h).Token); // a second start changes nothing
        await h.DeliverTextAsync("still the same puppet and token");
        Assert.Equal(migrated, SinglePuppet(h).Token);
    }

    [Fact]
    public async Task A_token_under_another_key_is_reported_and_reminted_not_a_crash()
    {
        await using var h = await MmHarness.StartAsync();
        h.Secrets = NewKey();
        await RestartAsync(h);
        await h.DeliverTextAsync("first");
        var (personKey, before) = SinglePuppet(h);

        var other = NewKey();
        h.Secrets = other;
        await RestartAsync(h);
        Assert.Contains(h.Logs.Entries, e => e.Id.Name == "TokenUnreadable" && !e.Message.Contains(before, StringComparison.Ordinal));
        await h.DeliverTextAsync("second, with a new token");

        var (_, after) = SinglePuppet(h);
        Assert.StartsWith($"enc:v1:{other.KeyId}:", after, StringComparison.Ordinal);
        Assert.Equal(StoredSecretKind.Encrypted, other.Open(after, Context(personKey), out var token, out _));
        Assert.True(await TokenWorksAsync(h, token!));
    }

    [Fact]
    public async Task Without_a_key_the_token_is_not_stored_at_all()
    {
        await using var h = await MmHarness.StartAsync();
        await h.DeliverTextAsync("no key configured");
        var json = JsonNode.Parse((await h.State.ListAsync(Scope, default)).Values.Single())!;
        Assert.Null((string?)json["Token"]);
    }

    private static string Context(string personKey) => $"{Scope}/{personKey}/token";

    private static (string PersonKey, string Token) SinglePuppet(MmHarness h)
    {
        var (key, json) = h.State.ListAsync(Scope, default).GetAwaiter().GetResult().Single();
        return (key, (string?)JsonNode.Parse(json)!["Token"] ?? throw new InvalidOperationException("no token stored"));
    }

    private static async Task RestartAsync(MmHarness h)
    {
        await h.Connector.DisposeAsync();
        await h.StartConnectorAsync();
    }

    private static async Task<bool> TokenWorksAsync(MmHarness h, string token)
    {
        using var http = new HttpClient { BaseAddress = h.Sandbox.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v4/users/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode;
    }
}
