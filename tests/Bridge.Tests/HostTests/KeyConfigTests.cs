using Bridge.Testing;

namespace Bridge.Tests.HostTests;

/// <summary>The audit and secrets keys are validated at start, with errors naming the key and never showing it.</summary>
public sealed class KeyConfigTests
{
    private const string Base = """
        networks:
          a:
            kind: xmpp
            xmpp: { host: 127.0.0.1, port: 5347, componentDomain: bridge.a.localhost, secret: s }
          b:
            kind: xmpp
            xmpp: { host: 127.0.0.1, port: 5348, componentDomain: bridge.b.localhost, secret: s }
        links:
          ops:
            endpoints:
              - { network: a, channel: ops@conference.a.localhost }
              - { network: b, channel: ops@conference.b.localhost }
        """;

    private static readonly string Key16 = Convert.ToBase64String(new byte[16]);
    private static readonly string Key32 = Convert.ToBase64String(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());
    private static readonly string Key48 = Convert.ToBase64String(Enumerable.Range(7, 48).Select(i => (byte)i).ToArray());

    public static TheoryData<string, string> BrokenKeys => new()
    {
        { $"audit:\n  key: '{Key16}'\n", "audit:key" },
        { "audit:\n  key: 'not base64 at all!'\n", "audit:key" },
        { $"audit:\n  key: '{Key32}'\n  keyFile: /etc/bridge/audit.key\n", "audit:key" },
        { "audit:\n  keyFile: /nonexistent/audit.key\n", "audit:keyFile" },
        { $"audit:\n  key: '{Key32}'\n  retiredKeys: ['{Key16}']\n", "audit:retiredKeys:0" },
        { $"database:\n  secretsKey: '{Key16}'\n", "database:secretsKey" },
        { $"database:\n  secretsKey: '{Key48}'\n", "database:secretsKey" },
        { "database:\n  secretsKeyFile: /nonexistent/secrets.key\n", "database:secretsKeyFile" },
        { $"audit:\n  retiredKeys: '{Key32}'\n", "audit:retiredKeys" }, // a scalar where a list belongs: the schema checker's wording, value never quoted
    };

    [Theory]
    [MemberData(nameof(BrokenKeys))]
    public async Task An_unusable_key_is_an_error_naming_its_key_and_never_printing_it(string extra, string key)
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Base + "\n" + extra);

        Assert.Equal(1, code);
        Assert.Contains(key + ":", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Key16, error, StringComparison.Ordinal);
        Assert.DoesNotContain(Key32, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_from_files_are_accepted_and_missing_keys_are_warnings()
    {
        using var dir = new TempDirectory();
        var auditKey = dir.File("audit.key");
        var secretsKey = dir.File("secrets.key");
        await File.WriteAllTextAsync(auditKey, Key48 + "\n");
        await File.WriteAllTextAsync(secretsKey, Key32 + "\n");

        var (code, output, error) = await CheckConfigTests.CheckAsync(Base + $"\ndatabase:\n  secretsKeyFile: '{secretsKey}'\naudit:\n  keyFile: '{auditKey}'\n");
        Assert.True(code == 0, error);
        Assert.Contains("ok", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", error, StringComparison.Ordinal);

        var (plainCode, _, warnings) = await CheckConfigTests.CheckAsync(Base);
        Assert.Equal(0, plainCode);
        Assert.Contains("warning: database:secretsKey: not set", warnings, StringComparison.Ordinal);
        Assert.Contains("warning: audit:key: not set", warnings, StringComparison.Ordinal);
    }
}
