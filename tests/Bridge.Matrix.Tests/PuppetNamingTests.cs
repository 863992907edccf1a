using System.Text.RegularExpressions;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Bridge.Matrix.Configuration;
using Bridge.Matrix.Puppets;
using Bridge.Matrix.Tests.Support;

namespace Bridge.Matrix.Tests;

/// <summary>Puppet user ids: readable, one per person, within the localpart grammar, kept once given.</summary>
public sealed class PuppetNamingTests
{
    private static PersonRef Person(string userId, string display, string? handle = null, string network = "xmpp") =>
        new() { NetworkId = network, UserId = userId, DisplayName = display, Handle = handle };

    [Theory]
    [InlineData("occupant-id:ops@conference.example.org:3aacc", "Alice Ädams", null, "_bridge_xmpp_alice_adams_")]
    [InlineData("hidden:ops@conference.example.org:0a1b2c", "bob", "bob", "_bridge_xmpp_bob_")]
    [InlineData("k3x9qabcdefghijkmnpqrstuvw", "Someone", "some.one", "_bridge_mattermost_some.one_")]
    [InlineData("occupant-id:ops@conference.example.org:9", "李小龙", null, "_bridge_xmpp_")]
    public void Localparts_are_readable_and_within_the_grammar(string userId, string display, string? handle, string expectedHead)
    {
        var network = expectedHead.Contains("mattermost", StringComparison.Ordinal) ? "mattermost" : "xmpp";
        var localpart = PuppetNaming.Localpart("_bridge_", Person(userId, display, handle, network));
        Assert.Matches("^" + Regex.Escape(expectedHead) + "[a-z2-9]{5}$", localpart);
        Assert.True(MatrixOptions.IsLocalpart(localpart), localpart);
        Assert.DoesNotContain("occupant", localpart, StringComparison.Ordinal);
        Assert.DoesNotContain("=40", localpart, StringComparison.Ordinal);
    }

    [Fact]
    public void People_whose_names_slug_alike_get_different_ids()
    {
        var ids = new[] { "bob_baker", "bob.baker", "Bob Baker", "bob-baker", "BOB BAKER" }
            .Select((name, i) => PuppetNaming.Localpart("_bridge_", Person($"occupant-id:r@muc:{i}", name)))
            .ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task A_puppet_of_an_older_version_keeps_its_id_and_a_new_person_keeps_theirs_through_a_rename()
    {
        await using var h = await BridgeHarness.StartAsync();
        const string scope = "matrix:" + BridgeHarness.Network + ":puppets";

        // What an older version left behind for Carol: her registered puppet under the escaped user id.
        const string legacy = "_bridge_xmpp_carol=40example.org";
        h.Sandbox.CreateUser(legacy);
        await h.State.SetAsync(scope, legacy, "Carol", CancellationToken.None);
        await h.Connector.DeliverAsync(h.Request(1, "still me"), CancellationToken.None);
        Assert.Equal($"@{legacy}:localhost", h.Sandbox.GetMessages(h.RoomId)[0]["sender"]!.GetValue<string>());

        // Someone new: a readable id from their name at first sight, kept when they are renamed.
        const string dave = "occupant-id:ops@conference.example.org:d4v3";
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(2, "new here", personId: dave, personName: "Dave Dee"), CancellationToken.None));
        Assert.IsType<DeliveryResult.Delivered>(await h.Connector.DeliverAsync(h.Request(3, "renamed", personId: dave, personName: "David"), CancellationToken.None));
        var messages = h.Sandbox.GetMessages(h.RoomId);
        var daveId = messages[1]["sender"]!.GetValue<string>();
        Assert.Matches("^@_bridge_xmpp_dave_dee_[a-z2-9]{5}:localhost$", daveId);
        Assert.Equal(daveId, messages[2]["sender"]!.GetValue<string>());
        Assert.Equal("David", h.Sandbox.GetProfile(daveId)["displayname"]!.GetValue<string>());
        // Kept by person key in the store: a restart finds the same id rather than recomputing it.
        Assert.Equal(daveId[1..daveId.IndexOf(':', StringComparison.Ordinal)], await h.State.GetAsync(scope, "person:xmpp/" + dave, CancellationToken.None));
    }
}
