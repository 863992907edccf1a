using System.Collections;
using Bridge.Core.Storage.Sqlite;
using Bridge.Host.Configuration;
using Bridge.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.HostTests;

/// <summary>A first deployment as a newcomer does it: secrets from the environment, a store folder that is not there yet.</summary>
public sealed class DeploymentConfigTests
{
    private const string TwoNetworks = """
        networks:
          org-a-xmpp:
            kind: xmpp
            xmpp: { host: 127.0.0.1, port: 5347, componentDomain: bridge.a.localhost, secret: from-the-file }
          b:
            kind: xmpp
            xmpp: { host: 127.0.0.1, port: 5348, componentDomain: bridge.b.localhost, secret: SECRET_B }
        links:
          ops:
            endpoints:
              - { network: org-a-xmpp, channel: ops@conference.a.localhost }
              - { network: b, channel: ops@conference.b.localhost }
        """;

    [Fact]
    public void An_upper_case_network_id_in_an_environment_override_is_the_files_network()
    {
        var (settings, errors) = Read(TwoNetworks, new Hashtable { ["BRIDGE_NETWORKS__ORG-A-XMPP__XMPP__SECRET"] = "from-the-environment" }, out var root);

        Assert.Empty(errors);
        Assert.Equal(["b", "org-a-xmpp"], settings!.Topology.Networks.Select(n => n.Id).Order(StringComparer.Ordinal));
        Assert.Equal("from-the-environment", root["networks:org-a-xmpp:xmpp:secret"]);
    }

    [Fact]
    public void An_upper_case_link_id_in_an_environment_override_is_the_files_link()
    {
        var (settings, errors) = Read(TwoNetworks, new Hashtable { ["BRIDGE_LINKS__OPS__ENDPOINTS__1__CHANNEL"] = "ops2@conference.b.localhost" }, out _);

        Assert.Empty(errors);
        var link = Assert.Single(settings!.Topology.Links);
        Assert.Equal("ops", link.Id);
        Assert.Contains(link.Endpoints, e => e.ChannelId == "ops2@conference.b.localhost");
    }

    [Fact]
    public void A_reference_to_an_environment_variable_in_the_file_is_substituted()
    {
        var yaml = TwoNetworks.Replace("secret: SECRET_B", "secret: \"${B_SECRET}-and-$${literal}\"", StringComparison.Ordinal);

        var (_, errors) = Read(yaml, new Hashtable { ["B_SECRET"] = "s3cret" }, out var root);

        Assert.Empty(errors);
        Assert.Equal("s3cret-and-${literal}", root["networks:b:xmpp:secret"]);
    }

    [Theory]
    [InlineData("secret: \"${B_SECRET_UNSET}\"", "refers to the environment variable 'B_SECRET_UNSET', which is not set")]
    [InlineData("secret: \"${B_SECRET\"", "without a closing")]
    [InlineData("secret: \"${not a name}\"", "names no environment variable")]
    public async Task A_reference_that_cannot_be_substituted_stops_check_config_naming_the_key_never_taken_literally(string secret, string expected)
    {
        var yaml = TwoNetworks.Replace("secret: SECRET_B", secret, StringComparison.Ordinal);

        var (code, _, error) = await CheckConfigTests.CheckAsync(yaml);

        Assert.Equal(1, code);
        Assert.Contains("networks:b:xmpp:secret", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_says_the_store_folder_will_be_created()
    {
        using var dir = new TempDirectory();
        var store = Path.Combine(dir.Path, "not-yet", "bridge.db");
        var yaml = TwoNetworks + $"\ndatabase:\n  sqlite:\n    path: {store}\n";

        var (code, output, error) = await CheckConfigTests.CheckAsync(yaml);

        Assert.Equal(0, code);
        Assert.Contains("database:sqlite:path", output + error, StringComparison.Ordinal);
        Assert.Contains("does not exist: `bridge run` creates it (mode 0700)", output + error, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_store_creates_its_missing_folder_private()
    {
        using var dir = new TempDirectory();
        var folder = Path.Combine(dir.Path, "var", "lib", "bridge");
        await using var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = Path.Combine(folder, "bridge.db") }, NullLogger<SqliteBridgeStore>.Instance);

        await store.MigrateAsync(CancellationToken.None);

        Assert.True(File.Exists(Path.Combine(folder, "bridge.db")));
        Assert.Equal(SqliteFileMode.PrivateFolder, File.GetUnixFileMode(folder));
    }

    [Fact]
    public async Task A_store_that_cannot_be_opened_is_named_in_the_error()
    {
        using var dir = new TempDirectory();
        var notAFolder = dir.File("a-file");
        await File.WriteAllTextAsync(notAFolder, "");
        var path = Path.Combine(notAFolder, "bridge.db");
        await using var store = new SqliteBridgeStore(new SqliteStoreOptions { Path = path }, NullLogger<SqliteBridgeStore>.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.MigrateAsync(CancellationToken.None));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("database:sqlite:path", error.Message, StringComparison.Ordinal);
    }

    private static (HostSettings? Settings, List<Bridge.Core.Connectors.ConfigError> Errors) Read(string yaml, Hashtable environment, out Microsoft.Extensions.Configuration.IConfigurationRoot root)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        File.WriteAllText(path, yaml);
        root = BridgeConfiguration.Load(path, reloadOnChange: false, environment);
        return SettingsReader.Read(root, Host.Composition.ConnectorCatalog.All());
    }
}
