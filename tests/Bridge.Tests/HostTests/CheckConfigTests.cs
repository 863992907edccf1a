using System.CommandLine;
using Bridge.Host.Cli;
using Bridge.Host.Configuration;
using Bridge.Tests.Support;
using Bridge.Testing;

namespace Bridge.Tests.HostTests;

public sealed class CheckConfigTests
{
    private const string ValidBase = """
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

    [Theory]
    [InlineData("delivery:\n  maxAttempts: lots\n", "delivery:maxAttempts")]
    [InlineData("delivery:\n  maxAttempts: 0\n", "delivery:maxAttempts")]
    [InlineData("delivery:\n  initialBackoff: soon\n", "delivery:initialBackoff")]
    [InlineData("database:\n  provider: oracle\n", "database:provider")]
    [InlineData("database:\n  sqlite:\n    synchronous: sometimes\n", "database:sqlite:synchronous")]
    [InlineData("admin:\n  listen: not a url\n", "admin:listen")]
    [InlineData("limits:\n  senderPerSecond: -1\n", "limits:senderPerSecond")]
    [InlineData("limits:\n  linkPerSecond: fast\n", "limits:linkPerSecond")]
    [InlineData("limits:\n  senderBurst: 0\n", "limits:senderBurst")]
    [InlineData("limits:\n  fairTurn: 0\n", "limits:fairTurn")]
    [InlineData("database:\n  provider: postgres\n  postgres: { connectionString: 'Host=db', heartbeatInterval: '00:00:02', leaseDuration: '00:00:05' }\n", "database:postgres:leaseDuration")]
    [InlineData("database:\n  provider: postgres\n  postgres: { connectionString: 'Host=db', heartbeatInterval: '00:00:00' }\n", "database:postgres:heartbeatInterval")]
    public async Task A_broken_value_is_named_by_its_key(string extra, string key)
    {
        var (code, _, error) = await CheckAsync(ValidBase + "\n" + extra);

        Assert.Equal(1, code);
        Assert.Contains(key, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_endpoint_naming_an_unknown_network_is_named()
    {
        var yaml = ValidBase.Replace("{ network: b, channel", "{ network: nowhere, channel", StringComparison.Ordinal);

        var (code, _, error) = await CheckAsync(yaml);

        Assert.Equal(1, code);
        Assert.Contains("links:ops:endpoints:1:network", error, StringComparison.Ordinal);
        Assert.Contains("'nowhere' is not a configured network", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_kind_is_named()
    {
        var (code, _, error) = await CheckAsync(ValidBase.Replace("kind: xmpp\n    xmpp: { host: 127.0.0.1, port: 5348", "kind: irc\n    xmpp: { host: 127.0.0.1, port: 5348", StringComparison.Ordinal));

        Assert.Equal(1, code);
        Assert.Contains("networks:b:kind", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_yaml_syntax_error_names_the_line()
    {
        var (code, _, error) = await CheckAsync("networks:\n  a: [unclosed\n");

        Assert.Equal(1, code);
        Assert.Contains("line", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_missing_file_is_reported()
    {
        var (code, _, error) = await RunAsync(["check-config", "--config", "/nonexistent/bridge.yaml"]);

        Assert.Equal(1, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_variables_override_yaml_keys()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        File.WriteAllText(path, ValidBase);
        var name = "BRIDGE_NETWORKS__A__XMPP__PORT";
        Environment.SetEnvironmentVariable(name, "6000");
        try
        {
            var root = BridgeConfiguration.Load(path, reloadOnChange: false);
            Assert.Equal("6000", root["networks:a:xmpp:port"]);
            Assert.Equal("5348", root["networks:b:xmpp:port"]);
            Assert.Equal("ops@conference.a.localhost", root["links:ops:endpoints:0:channel"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    internal static async Task<(int Code, string Output, string Error)> CheckAsync(string yaml)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return await RunAsync(["check-config", "--config", path]);
    }

    internal static async Task<(int Code, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await BridgeCli.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
