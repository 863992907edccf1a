using Bridge.Host.Configuration;
using Bridge.Testing;

namespace Bridge.Tests.HostTests;

/// <summary>Every key the bridge does not know is an error naming its full path and the nearest valid key.</summary>
public sealed class UnknownKeyTests
{
    private const string Base = """
        networks:
          a:
            kind: xmpp
            clearance: SECRET
            xmpp: { host: 127.0.0.1, port: 5347, componentDomain: bridge.a.localhost, secret: s }
          m:
            kind: matrix
            clearance: SECRET
            matrix: { homeserverUrl: http://127.0.0.1:8008, serverName: localhost, asToken: x, hsToken: y }
          mm:
            kind: mattermost
            clearance: SECRET
            mattermost: { url: http://127.0.0.1:8065, token: t, team: ops }
        links:
          ops:
            endpoints:
              - { network: a, channel: ops@conference.a.localhost }
              - { network: m, channel: "!ops:localhost" }
              - { network: mm, channel: ops/town-square }
        policy:
          labels: [UNCLASSIFIED, SECRET]
        """;

    [Fact]
    public async Task A_link_id_in_the_portal_prefix_is_refused()
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Base.Replace("  ops:\n    endpoints:", "  dm-0123456789abcdef0123:\n    endpoints:", StringComparison.Ordinal));

        Assert.NotEqual(0, code);
        Assert.Contains("links:dm-0123456789abcdef0123", error, StringComparison.Ordinal);
        Assert.Contains("'dm-'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_base_configuration_is_valid()
    {
        var (code, output, error) = await CheckConfigTests.CheckAsync(Base);

        Assert.True(code == 0, error);
        Assert.Contains("ok (3 networks, 1 links)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelt_network_clearance_is_refused_with_the_nearest_key()
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Base.Replace("    clearance: SECRET\n    xmpp:", "    clearence: SECRET\n    xmpp:", StringComparison.Ordinal));

        Assert.Equal(1, code);
        Assert.Contains("networks:a:clearence: unknown key; did you mean 'clearance'?", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("networks:\n  a:\n    xmpp:\n      prot: 5347", "networks:a:xmpp:prot: unknown key; did you mean 'port'?")]
    [InlineData("networks:\n  m:\n    matrix:\n      homeserverUri: http://x", "networks:m:matrix:homeserverUri: unknown key; did you mean 'homeserverUrl'?")]
    [InlineData("networks:\n  mm:\n    mattermost:\n      tokn: t", "networks:mm:mattermost:tokn: unknown key; did you mean 'token'?")]
    [InlineData("networks:\n  mm:\n    organization: org", "networks:mm:organization: unknown key; did you mean 'organisation'?")]
    [InlineData("links:\n  ops:\n    endpoint: x", "links:ops:endpoint: unknown key; did you mean 'endpoints'?")]
    [InlineData("links:\n  ops:\n    endpoints:\n      0:\n        chanel: x", "links:ops:endpoints:0:chanel: unknown key; did you mean 'channel'?")]
    [InlineData("audit:\n  recordContents: true", "audit:recordContents: unknown key; did you mean 'recordContent'?")]
    [InlineData("admin:\n  listn: http://127.0.0.1:1", "admin:listn: unknown key; did you mean 'listen'?")]
    [InlineData("delivery:\n  maxAttempt: 3", "delivery:maxAttempt: unknown key; did you mean 'maxAttempts'?")]
    [InlineData("database:\n  sqlite:\n    pth: x.db", "database:sqlite:pth: unknown key; did you mean 'path'?")]
    [InlineData("databse:\n  provider: sqlite", "databse: unknown key; did you mean 'database'?")]
    [InlineData("policy:\n  labls: [A]", "policy:labls: unknown key; did you mean 'labels'?")]
    [InlineData("policy:\n  networks:\n    m:\n      clearence: SECRET", "policy:networks:m:clearence: unknown key; did you mean 'clearance'?")]
    [InlineData("zzzz: 1", "zzzz: unknown key; expected one of: database, delivery, retention, limits, audit, admin, telemetry, networks, links, translation, policy, logging")]
    public async Task Every_unknown_key_is_named_with_its_path_and_the_nearest_valid_key(string extra, string expected)
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Merge(extra));

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        AssertBridgeWording(error);
    }

    [Theory]
    [InlineData("delivery:\n  maxAttempts: lots", "delivery:maxAttempts: 'lots' is not a whole number")]
    [InlineData("delivery:\n  initialBackoff: soon", "delivery:initialBackoff: 'soon' is not a duration")]
    [InlineData("audit:\n  recordContent: maybe", "audit:recordContent: 'maybe' is not true or false")]
    [InlineData("networks:\n  a:\n    xmpp:\n      port: fifty", "networks:a:xmpp:port: 'fifty' is not a whole number")]
    [InlineData("networks:\n  mm:\n    mattermost:\n      puppetMode: robots", "networks:mm:mattermost:puppetMode: 'robots' is not one of: auto, users, relay")]
    [InlineData("admin: yes", "admin: expected a section with keys under it")]
    public async Task A_malformed_value_is_named_in_the_bridges_words(string extra, string expected)
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Merge(extra));

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        AssertBridgeWording(error);
    }

    [Fact]
    public async Task An_environment_variable_under_a_known_section_is_checked_but_a_foreign_one_is_left_alone()
    {
        using var dir = new TempDirectory();
        var path = dir.File("bridge.yaml");
        await File.WriteAllTextAsync(path, Base);
        Environment.SetEnvironmentVariable("BRIDGE_UNRELATED_TOOL_SETTING", "1");
        Environment.SetEnvironmentVariable("BRIDGE_networks__a__xmpp__prot", "1");
        Environment.SetEnvironmentVariable("BRIDGE_networks__a__clearence", "SECRET");
        try
        {
            var root = BridgeConfiguration.Load(path, reloadOnChange: false);
            var (_, errors) = SettingsReader.Read(root, Host.Composition.ConnectorCatalog.All());
            Assert.Equal(["networks:a:clearence", "networks:a:xmpp:prot"], errors.Select(e => e.Key.ToLowerInvariant()).Order(StringComparer.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable("BRIDGE_UNRELATED_TOOL_SETTING", null);
            Environment.SetEnvironmentVariable("BRIDGE_networks__a__xmpp__prot", null);
            Environment.SetEnvironmentVariable("BRIDGE_networks__a__clearence", null);
        }
    }

    [Fact]
    public async Task A_labelled_policy_that_leaves_a_network_without_clearance_is_warned_about()
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync(Base.Replace("    clearance: SECRET\n    mattermost:", "    mattermost:", StringComparison.Ordinal));

        Assert.Equal(0, code);
        Assert.Contains("warning: networks:mm:clearance: not set: with labels configured this network is cleared for the lowest label (UNCLASSIFIED) only", error, StringComparison.Ordinal);
        Assert.DoesNotContain("networks:a:clearance", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_file_is_an_error()
    {
        var (code, _, error) = await CheckConfigTests.CheckAsync("# nothing but a comment\n");

        Assert.Equal(1, code);
        Assert.Contains("empty", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_example_configuration_passes_except_for_the_host_files_it_names()
    {
        var example = Path.Combine(RepoPaths.Root, "examples", "bridge.yaml");
        // The secrets the example refers to as ${NAME} (names no other test uses).
        foreach (var name in (string[])["ORG_A_XMPP_SECRET", "ORG_B_XMPP_SECRET", "MATTERMOST_TOKEN"])
        {
            Environment.SetEnvironmentVariable(name, "from-the-environment");
        }

        var (code, _, error) = await CheckConfigTests.RunAsync(["check-config", "--config", example]);

        // The only problem allowed: the Matrix registration file, which lives on the operator's host.
        var problems = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("error:", StringComparison.Ordinal) && !l.StartsWith("warning:", StringComparison.Ordinal) && l.Length > 0)
            .ToList();
        Assert.All(problems, p => Assert.StartsWith("networks:matrix:matrix:registrationFile: file '/etc/bridge/registration.yaml' not found", p, StringComparison.Ordinal));
        // The one warning allowed: the store's folder, where this machine has none yet.
        Assert.All(error.Split('\n').Where(l => l.Contains("warning:", StringComparison.Ordinal)),
            w => Assert.Contains("database:sqlite:path: the folder '/var/lib/bridge' does not exist", w, StringComparison.Ordinal));
        if (code != 0)
        {
            Assert.Single(problems);
        }
    }

    private static void AssertBridgeWording(string error)
    {
        Assert.DoesNotContain("ErrorOnUnknownConfiguration", error, StringComparison.Ordinal);
        Assert.DoesNotContain("was not found on type", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Failed to convert", error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
    }

    /// <summary>Adds <paramref name="extra"/> to the base configuration, merging into sections it already has.</summary>
    private static string Merge(string extra)
    {
        var baseRoot = YamlDotNetMerge.Parse(Base);
        var extraRoot = YamlDotNetMerge.Parse(extra);
        YamlDotNetMerge.Into(baseRoot, extraRoot);
        return YamlDotNetMerge.Write(baseRoot);
    }
}

/// <summary>Merges small YAML fragments into a test configuration (YAML itself refuses a repeated key).</summary>
internal static class YamlDotNetMerge
{
    public static YamlDotNet.RepresentationModel.YamlMappingNode Parse(string yaml)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents[0].RootNode;
    }

    public static void Into(YamlDotNet.RepresentationModel.YamlMappingNode target, YamlDotNet.RepresentationModel.YamlMappingNode extra)
    {
        foreach (var (key, value) in extra.Children)
        {
            if (target.Children.TryGetValue(key, out var existing) &&
                existing is YamlDotNet.RepresentationModel.YamlMappingNode existingMap && value is YamlDotNet.RepresentationModel.YamlMappingNode valueMap)
            {
                Into(existingMap, valueMap);
            }
            else if (existing is YamlDotNet.RepresentationModel.YamlSequenceNode seq && value is YamlDotNet.RepresentationModel.YamlMappingNode indexed)
            {
                foreach (var (index, item) in indexed.Children)
                {
                    var i = int.Parse(((YamlDotNet.RepresentationModel.YamlScalarNode)index).Value!, System.Globalization.CultureInfo.InvariantCulture);
                    Into((YamlDotNet.RepresentationModel.YamlMappingNode)seq.Children[i], (YamlDotNet.RepresentationModel.YamlMappingNode)item);
                }
            }
            else
            {
                target.Children[key] = value;
            }
        }
    }

    public static string Write(YamlDotNet.RepresentationModel.YamlMappingNode root)
    {
        var writer = new StringWriter();
        new YamlDotNet.RepresentationModel.YamlStream(new YamlDotNet.RepresentationModel.YamlDocument(root)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }
}
