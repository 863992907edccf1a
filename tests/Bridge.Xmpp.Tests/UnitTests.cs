using System.Xml.Linq;
using Bridge.Core.Configuration;
using Bridge.Core.Model;
using Bridge.Xmpp.Protocol;
using Bridge.Xmpp.Stream;
using Bridge.Xmpp.Tests.Fixtures;
using Microsoft.Extensions.Configuration;

namespace Bridge.Xmpp.Tests;

public sealed class JidEscapingTests
{
    [Theory]
    [InlineData("alice@example.org", "alice\\40example.org")]
    [InlineData("d'artagnan", "d\\27artagnan")]
    [InlineData("c:\\net", "c\\3a\\5cnet")]
    [InlineData("space cadet", "space\\20cadet")]
    [InlineData("call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22")]
    [InlineData("<&>/", "\\3c\\26\\3e\\2f")]
    public void Escapes_the_xep_0106_characters_and_round_trips(string raw, string escaped)
    {
        Assert.Equal(escaped, JidEscaping.Escape(raw));
        Assert.Equal(raw, JidEscaping.Unescape(escaped));
    }

    [Fact]
    public void Puppet_local_parts_are_deterministic_escaped_and_distinct_across_case()
    {
        Assert.Equal("mm-a\\2fuser1", JidEscaping.PuppetLocalPart("mm-a/user1"));
        Assert.Equal(JidEscaping.PuppetLocalPart("mx/@Alice:example.org"), JidEscaping.PuppetLocalPart("mx/@Alice:example.org"));
        Assert.NotEqual(JidEscaping.PuppetLocalPart("mx/@Alice:example.org"), JidEscaping.PuppetLocalPart("mx/@alice:example.org"));
        var unicode = JidEscaping.PuppetLocalPart("mx/@zoë:example.org");
        Assert.All(unicode, c => Assert.InRange(c, '!', '~'));
        Assert.DoesNotContain('@', JidEscaping.PuppetLocalPart("a/b@c"));
        Assert.True(JidEscaping.PuppetLocalPart(new string('x', 2000)).Length < 450);
    }

    [Fact]
    public void Parses_jids()
    {
        var jid = Jid.Parse("Room@Conference.Example.org/Nick Name");
        Assert.Equal("room", jid.Local);
        Assert.Equal("conference.example.org", jid.Domain);
        Assert.Equal("Nick Name", jid.Resource);
        Assert.Equal("room@conference.example.org", jid.BareString);
        Assert.False(Jid.TryParse("@example.org", out _));
        Assert.False(Jid.TryParse("a@b/", out _));
        Assert.False(Jid.TryParse("a@exa mple.org", out _));
    }
}

public sealed class StanzaWriterTests
{
    private const string Domain = "bridge.example.org";

    private static XElement Message(string? from, string? to = "room@conference.example.org", string body = "hi")
    {
        var m = new XElement(Ns.Component + "message", new XAttribute("type", "groupchat"), new XElement(Ns.Component + "body", body));
        if (from is not null)
        {
            m.SetAttributeValue("from", from);
        }

        if (to is not null)
        {
            m.SetAttributeValue("to", to);
        }

        return m;
    }

    [Fact]
    public void Accepts_stanzas_from_inside_the_component_domain()
    {
        var text = ComponentStream.Serialize(Message("alice\\40x@" + Domain), Domain, 65536);
        Assert.Contains("from=\"alice\\40x@bridge.example.org\"", text);
        Assert.Contains("<body>hi</body>", text);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("alice@example.org")]
    [InlineData("sub.bridge.example.org")]
    [InlineData("bad jid@" + Domain)]
    public void Refuses_a_from_outside_the_component_domain(string? from) =>
        Assert.Throws<StanzaRejectedException>(() => ComponentStream.Serialize(Message(from), Domain, 65536));

    [Fact]
    public void Refuses_missing_to_oversized_stanzas_and_non_stanzas()
    {
        Assert.Throws<StanzaRejectedException>(() => ComponentStream.Serialize(Message(Domain, to: null), Domain, 65536));
        Assert.Throws<StanzaRejectedException>(() => ComponentStream.Serialize(Message(Domain, body: new string('x', 70_000)), Domain, 65536));
        Assert.Throws<StanzaRejectedException>(() => ComponentStream.Serialize(new XElement(Ns.Component + "handshake", new XAttribute("from", Domain), new XAttribute("to", Domain)), Domain, 65536));
        Assert.Throws<StanzaRejectedException>(() => ComponentStream.Serialize(Message(Domain, body: "bell\u0007"), Domain, 65536));
    }

    [Fact]
    public void Text_from_other_networks_is_cleaned_of_characters_xml_cannot_carry()
    {
        Assert.Equal("bell and  emoji 🎉", XmppConnector.CleanText("bell\u0007 and \u0001 emoji 🎉"));
        Assert.Equal("lone ", XmppConnector.CleanText("lone \ud800"));
    }

    [Fact]
    public void Nicks_come_from_display_names()
    {
        Assert.Equal("Alice Smith", XmppConnector.NickFor(new PersonRef { NetworkId = "n", UserId = "u1", DisplayName = "  Alice Smith " }));
        Assert.Equal("u1", XmppConnector.NickFor(new PersonRef { NetworkId = "n", UserId = "hidden:r@muc:0a1b", DisplayName = "\u0001", Handle = "u1" }));
        Assert.Equal("someone", XmppConnector.NickFor(new PersonRef { NetworkId = "n", UserId = "carol@example.org", DisplayName = " " }));
        Assert.Equal(48, XmppConnector.NickFor(new PersonRef { NetworkId = "n", UserId = "u1", DisplayName = new string('a', 100) }).Length);
    }
}

public sealed class XmppOptionsTests
{
    private static readonly NetworkDefinition Network = new() { Id = ConnectorHarness.NetworkId, Kind = NetworkKind.Xmpp };

    [Fact]
    public void A_complete_section_is_valid()
    {
        var errors = new XmppConnectorFactory().Validate(Network, ConnectorHarness.Section("127.0.0.1", 5347, "bridge.localhost", "s"));
        Assert.Empty(errors);
    }

    [Fact]
    public void Errors_name_the_full_key()
    {
        var section = ConnectorHarness.Section("", 70000, "not a domain", "", new Dictionary<string, string?>
        {
            ["maxStanzaBytes"] = "10",
            ["mucService"] = "bad service",
            ["reconnectMaxDelay"] = "00:00:00.010",
        });
        var keys = new XmppConnectorFactory().Validate(Network, section).Select(e => e.Key).ToList();
        Assert.Contains("networks:xmpp-a:xmpp:host", keys);
        Assert.Contains("networks:xmpp-a:xmpp:port", keys);
        Assert.Contains("networks:xmpp-a:xmpp:componentDomain", keys);
        Assert.Contains("networks:xmpp-a:xmpp:secret", keys);
        Assert.Contains("networks:xmpp-a:xmpp:maxStanzaBytes", keys);
        Assert.Contains("networks:xmpp-a:xmpp:mucService", keys);
        Assert.Contains("networks:xmpp-a:xmpp:reconnectMaxDelay", keys);
    }

    [Fact]
    public void A_missing_section_is_an_error()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["networks:xmpp-a:kind"] = "xmpp" })
            .Build().GetSection("networks:xmpp-a");
        var error = Assert.Single(new XmppConnectorFactory().Validate(Network, section));
        Assert.Equal("networks:xmpp-a:xmpp", error.Key);
    }

    [Fact]
    public void An_unparsable_value_is_reported_not_thrown()
    {
        var section = ConnectorHarness.Section("h", 5347, "bridge.localhost", "s", new Dictionary<string, string?> { ["port"] = "not-a-number" });
        var error = Assert.Single(new XmppConnectorFactory().Validate(Network, section));
        Assert.StartsWith("networks:xmpp-a:xmpp", error.Key);
    }
}
