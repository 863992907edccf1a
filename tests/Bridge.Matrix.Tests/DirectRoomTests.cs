using System.Text.Json.Nodes;
using Bridge.Matrix.Configuration;
using Bridge.Matrix.Connector;

namespace Bridge.Matrix.Tests;

/// <summary>The trust boundaries of Matrix direct chats: who may open one, and which rooms are a fresh 1:1.</summary>
public sealed class DirectRoomTests
{
    private const string Bob = "@bob:localhost";
    private const string Puppet = "@_bridge_mm_carol:localhost";

    private static JsonObject Member(string userId, string membership) => new()
    {
        ["type"] = "m.room.member", ["state_key"] = userId, ["sender"] = Bob, ["content"] = new JsonObject { ["membership"] = membership },
    };

    [Fact]
    public void A_room_of_the_inviter_and_the_invited_puppet_is_a_fresh_one_to_one()
    {
        var state = new JsonArray(new JsonObject { ["type"] = "m.room.create", ["state_key"] = "" }, Member(Bob, "join"), Member(Puppet, "join"), Member("@old:localhost", "leave"));
        Assert.True(MatrixConnector.IsFreshOneToOne(state, Bob, Puppet));
    }

    [Theory]
    [InlineData("join")]
    [InlineData("invite")]
    [InlineData("knock")]
    public void A_third_member_makes_any_room_no_direct_chat(string membership)
    {
        var state = new JsonArray(Member(Bob, "join"), Member(Puppet, "join"), Member("@eve:localhost", membership));
        Assert.False(MatrixConnector.IsFreshOneToOne(state, Bob, Puppet));
    }

    [Fact]
    public void A_room_the_inviter_has_not_joined_is_no_direct_chat()
    {
        var state = new JsonArray(Member(Bob, "invite"), Member(Puppet, "join"), Member("@eve:localhost", "leave"));
        Assert.False(MatrixConnector.IsFreshOneToOne(state, Bob, Puppet));
    }

    [Theory]
    [InlineData("@bob:localhost", true)]
    [InlineData("@mallory:evil.example", false)]
    [InlineData("@mallory:localhost.evil.example", false)]
    [InlineData("@mallory:evil.example:localhost", false)] // the server part is everything after the first colon
    [InlineData("bob", false)]
    public void Only_users_of_allowed_servers_open_direct_chats(string userId, bool accepted) =>
        Assert.Equal(accepted, MatrixConnector.IsDirectInitiator(userId, ["localhost"]));

    [Fact]
    public void DirectMessagesFrom_defaults_to_the_server_name_and_is_validated()
    {
        Assert.Equal(["localhost"], new MatrixOptions { ServerName = "localhost" }.DirectServers());
        Assert.Equal(["a.example"], new MatrixOptions { ServerName = "localhost", DirectMessagesFrom = ["a.example"] }.DirectServers());
        var errors = new MatrixOptions { HomeserverUrl = "http://127.0.0.1:1", ServerName = "localhost", DirectMessagesFrom = ["ok.example", "*"] }
            .Validate("networks:m:matrix", requireTokens: false);
        Assert.Equal(["networks:m:matrix:directMessagesFrom:1"], errors.Select(e => e.Key).Where(k => k.Contains("directMessagesFrom", StringComparison.Ordinal)));
    }
}
