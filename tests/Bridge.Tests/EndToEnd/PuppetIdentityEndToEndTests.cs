using System.Net.Http.Json;
using Bridge.Testing;

namespace Bridge.Tests.EndToEnd;

/// <summary>
/// Puppet identity across the real networks: people of a semi-anonymous Prosody room (real JIDs for moderators only;
/// the bridge created the room, so it is one) appear on Matrix and Mattermost without their JID anywhere in their
/// puppets; two people whose names slug alike get distinct, non-confusable usernames; renames follow in both directions.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class PuppetIdentityEndToEndTests
{
    private static readonly TimeSpan Long = ThreeNetworks.Long;

    /// <summary>
    /// Prosody (Debian's 0.12) stamps occupant ids (XEP-0421); ejabberd (Debian's 23.01) does not, so there the bridge,
    /// owner of the room it created, is told each member's real JID and must keep it to itself.
    /// </summary>
    [Theory]
    [InlineData("prosody")]
    [InlineData("ejabberd")]
    public async Task Semi_anonymous_people_get_readable_puppets_without_their_jid_distinct_when_alike_and_renames_follow(string server)
    {
        await using var net = await ThreeNetworks.StartAsync(new ThreeNetworksOptions
        {
            StartXmpp = server == "ejabberd"
                ? async () => await EjabberdServer.StartAsync("a.localhost")
                : async () => await ProsodyServer.StartAsync("a.localhost"),
        });
        await net.Xmpp.RegisterAsync("eve", "evepass");
        await net.StartBridgeAsync();
        await using var alice = await XmppPerson.JoinAsync(net.Xmpp, "alice", "alicepass", net.XmppRoom, "Bob Baker");
        await using var eve = await XmppPerson.JoinAsync(net.Xmpp, "eve", "evepass", net.XmppRoom, "bob.baker");

        await alice.SayConfirmedAsync("id-alice");
        await eve.SayConfirmedAsync("id-eve");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("id-").Count >= 2 && net.MattermostPosts("id-").Count >= 2, Long,
            "both people's messages on Matrix and Mattermost");

        var aliceOnMatrix = net.MatrixMessages("id-alice").Single().Sender;
        var eveOnMatrix = net.MatrixMessages("id-eve").Single().Sender;
        var aliceOnMm = net.Mm.GetUser(net.MattermostPosts("id-alice").Single().UserId);
        var eveOnMm = net.Mm.GetUser(net.MattermostPosts("id-eve").Single().UserId);

        // Nothing the room hides: no account name, no server, no escaped '@', in any id or shown field.
        string[] shown =
        [
            aliceOnMatrix, eveOnMatrix, net.MatrixDisplayName(aliceOnMatrix) ?? "", net.MatrixDisplayName(eveOnMatrix) ?? "",
            aliceOnMm.Username, aliceOnMm.FirstName, aliceOnMm.LastName, aliceOnMm.Nickname, aliceOnMm.Email,
            eveOnMm.Username, eveOnMm.FirstName, eveOnMm.LastName, eveOnMm.Nickname, eveOnMm.Email,
        ];
        foreach (var field in shown)
        {
            Assert.DoesNotContain("alice", field, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("eve@", field, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(net.Xmpp.Domain, field, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("=40", field, StringComparison.Ordinal);
        }

        // What any Mattermost member reads of the puppet over the API (its props included) names nobody's account either.
        using var http = new HttpClient { BaseAddress = net.Mm.BaseUrl };
        using var login = await http.PostAsJsonAsync("api/v4/users/login", new { login_id = "carol", password = "Passw0rd!" });
        login.EnsureSuccessStatusCode();
        http.DefaultRequestHeaders.Authorization = new("Bearer", login.Headers.GetValues("Token").Single());
        foreach (var puppet in new[] { aliceOnMm, eveOnMm })
        {
            var seen = await http.GetStringAsync($"api/v4/users/{puppet.Id}");
            Assert.DoesNotContain("alice@", seen, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("eve@", seen, StringComparison.OrdinalIgnoreCase);
        }

        // Readable: the nick at first sight plus a short stable suffix; distinct although the nicks slug alike.
        Assert.Matches("^@_bridge_xmpp_bob.baker_[a-z2-9]{5}:localhost$", aliceOnMatrix);
        Assert.Matches("^@_bridge_xmpp_bob.baker_[a-z2-9]{5}:localhost$", eveOnMatrix);
        Assert.NotEqual(aliceOnMatrix, eveOnMatrix);
        Assert.Equal(("Bob Baker", "bob.baker"), (net.MatrixDisplayName(aliceOnMatrix), net.MatrixDisplayName(eveOnMatrix)));
        Assert.Matches("^br-bob_baker-[a-z2-9]{5}$", aliceOnMm.Username);
        Assert.Matches("^br-bob_baker-[a-z2-9]{5}$", eveOnMm.Username);
        Assert.NotEqual(aliceOnMm.Username, eveOnMm.Username);
        Assert.Equal(("Bob Baker", "bob.baker"), (aliceOnMm.FirstName, eveOnMm.FirstName));

        // Alice changes her nick: same puppets, new name shown on both other networks.
        await alice.ChangeNickAsync("Alice Renamed");
        await alice.SayConfirmedAsync("after-rename");
        await ThreeNetworks.WaitUntilAsync(() => net.MatrixMessages("after-rename").Count == 1 && net.MattermostPosts("after-rename").Count == 1, Long,
            "the renamed person's message on Matrix and Mattermost");
        Assert.Equal(aliceOnMatrix, net.MatrixMessages("after-rename").Single().Sender);
        Assert.Equal("Alice Renamed", net.MatrixDisplayName(aliceOnMatrix));
        var renamedOnMm = net.Mm.GetUser(net.MattermostPosts("after-rename").Single().UserId);
        Assert.Equal((aliceOnMm.Id, aliceOnMm.Username, "Alice Renamed"), (renamedOnMm.Id, renamedOnMm.Username, renamedOnMm.FirstName));

        // The other direction: Bob renames himself on Matrix, and his puppet's nick in the XMPP room follows.
        net.BobSays("before-bob-rename");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "before-bob-rename" && m.FromNick == "Bob"), Long, "Bob as 'Bob' on XMPP");
        net.Hs.SetDisplayName(net.Bob!.UserId, "Robert");
        net.BobSays("after-bob-rename");
        await alice.WaitForAsync(ms => ms.Any(m => m.Body == "after-bob-rename" && m.FromNick == "Robert"), Long, "Bob as 'Robert' on XMPP");
    }
}
