using Bridge.Host.Configuration;
using Bridge.Testing;
using Microsoft.Extensions.Configuration;

namespace Bridge.Tests.HostTests;

/// <summary>A reload never replaces the configuration in force with an empty, unreadable or cut-off file.</summary>
public sealed class ConfigurationReloadTests
{
    private const string Full = """
        networks:
          a: { kind: xmpp, clearance: LOW }
        links:
          ops: { endpoints: [ { network: a, channel: x } ] }
        policy:
          labels: [LOW, HIGH]
        """;

    [Theory]
    [InlineData("", "empty")]
    [InlineData("# only a comment\n", "empty")]
    [InlineData("networks:\n  a: { kind: xmpp, clearance: LOW }\nlinks:\n  ops: { endpoints: [ { network: a, channel: x } ] }\n", "'policy'")]
    [InlineData("networks:\n  a: { kind: xmpp, clearance: LOW }\nlinks:\n  ops: { endpoints: [ { network: a, channel: x } ] }\npolicy:\n", "'policy'")]
    [InlineData("networks:\n  a: { kind: xmpp, clearance: LOW\n", "syntax")]
    public void A_reload_of_a_broken_file_is_refused_and_the_configuration_in_force_stays(string replacement, string reason)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        File.WriteAllText(path, Full);
        var root = BridgeConfiguration.Load(path, reloadOnChange: false);
        using var _ = root as IDisposable;
        var refusals = new List<string>();
        root.Providers.OfType<YamlConfigurationProvider>().Single().ReloadFailed += refusals.Add;

        File.WriteAllText(path, replacement);
        root.Reload();

        var refusal = Assert.Single(refusals);
        Assert.Contains(reason, refusal, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("HIGH", root["policy:labels:1"]);
        Assert.Equal("LOW", root["networks:a:clearance"]);
    }

    [Fact]
    public void A_reload_of_a_complete_file_is_taken()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        File.WriteAllText(path, Full);
        var root = BridgeConfiguration.Load(path, reloadOnChange: false);
        using var _ = root as IDisposable;
        var refusals = new List<string>();
        root.Providers.OfType<YamlConfigurationProvider>().Single().ReloadFailed += refusals.Add;

        File.WriteAllText(path, Full.Replace("[LOW, HIGH]", "[LOW, MID, HIGH]", StringComparison.Ordinal));
        root.Reload();

        Assert.Empty(refusals);
        Assert.Equal("MID", root["policy:labels:1"]);
    }

    [Fact]
    public void At_start_an_empty_file_is_an_error()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        File.WriteAllText(path, "\n");

        var ex = Assert.ThrowsAny<Exception>(() => BridgeConfiguration.Load(path, reloadOnChange: false));
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }
}
