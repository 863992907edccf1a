using Bridge.Core.Model;
using Bridge.Matrix.Configuration;
using Bridge.Matrix.Puppets;
using Bridge.Matrix.Registration;
using Microsoft.Extensions.Configuration;
using Sandbox.Matrix.Appservices;

namespace Bridge.Matrix.Tests;

public sealed class RegistrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bridge-matrix-reg-").FullName;

    private static MatrixOptions Options() => new()
    {
        HomeserverUrl = "http://127.0.0.1:8008",
        ServerName = "example.org",
        Listen = "http://127.0.0.1:29330",
    };

    [Fact]
    public async Task Generated_registration_loads_in_a_homeserver_and_covers_the_puppets_exclusively()
    {
        var path = Path.Combine(_dir, "registration.yaml");
        var result = await RegistrationGenerator.GenerateAsync(Options(), path, force: false, CancellationToken.None);
        Assert.True(result.Success, result.Message);

        var reg = RegistrationLoader.LoadFile(path);
        Assert.Equal("http://127.0.0.1:29330", reg.Url);
        Assert.Equal("_bridge_bot", reg.SenderLocalpart);
        Assert.Equal(64, reg.AsToken.Length);
        Assert.NotEqual(reg.AsToken, reg.HsToken);
        var carol = new PersonRef { NetworkId = "xmpp", UserId = "hidden:room@muc.example.org:0a1b", DisplayName = "Carol Ä.", Handle = "Carol Ä." };
        var puppet = "@" + PuppetNaming.Localpart("_bridge_", carol) + ":example.org";
        var legacy = "@" + PuppetNaming.LegacyLocalpart("_bridge_", "xmpp", "Carol@example.org") + ":example.org";
        Assert.True(reg.Users.Single().IsMatch(legacy));
        Assert.True(reg.Users.Single().Exclusive);
        Assert.True(reg.Users.Single().IsMatch(puppet));
        Assert.False(reg.Users.Single().IsMatch("@alice:example.org"));
        Assert.False(reg.Users.Single().IsMatch("@_bridge_x:exampleXorg"));
        Assert.True(reg.Aliases.Single().IsMatch("#_bridge_ops:example.org"));

        Assert.True(reg.ReceiveEphemeral); // typing (m.typing) in transactions, under both keys
        Assert.True(reg.ReceiveEphemeralUnstable);

        var mine = AppserviceRegistrationFile.Load(path);
        Assert.True(mine.ReceivesEphemeral);
        Assert.Equal(reg.AsToken, mine.AsToken);
        Assert.Equal(reg.HsToken, mine.HsToken);
    }

    [Fact]
    public async Task Refuses_to_overwrite_tokens_in_use_unless_forced()
    {
        var path = Path.Combine(_dir, "registration.yaml");
        Assert.True((await RegistrationGenerator.GenerateAsync(Options(), path, false, CancellationToken.None)).Success);
        var first = AppserviceRegistrationFile.Load(path).AsToken;

        var refused = await RegistrationGenerator.GenerateAsync(Options(), path, false, CancellationToken.None);
        Assert.False(refused.Success);
        Assert.Contains("--force", refused.Message, StringComparison.Ordinal);
        Assert.Equal(first, AppserviceRegistrationFile.Load(path).AsToken);

        var forced = await RegistrationGenerator.GenerateAsync(Options(), path, true, CancellationToken.None);
        Assert.True(forced.Success);
        Assert.NotEqual(first, AppserviceRegistrationFile.Load(path).AsToken);
    }

    [Fact]
    public async Task Generates_from_the_bridge_configuration_and_asks_which_network_when_several()
    {
        var one = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["networks:hs:kind"] = "matrix",
            ["networks:hs:matrix:homeserverUrl"] = "http://127.0.0.1:8008",
            ["networks:hs:matrix:serverName"] = "example.org",
            ["networks:hs:matrix:puppetPrefix"] = "_b_",
            ["networks:x:kind"] = "xmpp",
        }).Build();
        var path = Path.Combine(_dir, "from-config.yaml");
        var result = await RegistrationGenerator.GenerateFromConfigurationAsync(one, null, path, false, CancellationToken.None);
        Assert.True(result.Success, result.Message);
        Assert.Equal("@_b_.*:example\\.org", RegistrationLoader.LoadFile(path).Users[0].Regex);

        var two = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["networks:a:kind"] = "matrix",
            ["networks:b:kind"] = "Matrix",
        }).Build();
        var ambiguous = await RegistrationGenerator.GenerateFromConfigurationAsync(two, null, Path.Combine(_dir, "x.yaml"), false, CancellationToken.None);
        Assert.False(ambiguous.Success);
        Assert.Contains("--network", ambiguous.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_name_the_key()
    {
        var errors = new MatrixOptions { HomeserverUrl = "ftp://x", ServerName = "", PuppetPrefix = "Bad" }.Validate("networks:m:matrix");
        Assert.Contains(errors, e => e.Key == "networks:m:matrix:homeserverUrl");
        Assert.Contains(errors, e => e.Key == "networks:m:matrix:serverName");
        Assert.Contains(errors, e => e.Key == "networks:m:matrix:puppetPrefix");
        Assert.Contains(errors, e => e.Key == "networks:m:matrix:registrationFile");
    }

    [Theory]
    [InlineData("carol", "carol")]
    [InlineData("Carol@example.org", "_carol=40example.org")]
    [InlineData("a_b", "a__b")]
    [InlineData("é", "=c3=a9")]
    public void Puppet_names_escape_into_valid_localparts(string input, string expected)
    {
        Assert.Equal(expected, PuppetNaming.Escape(input));
        Assert.True(MatrixOptions.IsLocalpart(PuppetNaming.LegacyLocalpart("_bridge_", "net-1", input)));
        var person = new PersonRef { NetworkId = "net-1", UserId = input, DisplayName = input, Handle = input };
        Assert.True(MatrixOptions.IsLocalpart(PuppetNaming.Localpart("_bridge_", person)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
