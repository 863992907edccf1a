
namespace Sandbox.Mattermost.Tests;

/// <summary>PrivacySettings.ShowFullName as the server applies it (SanitizeProfile): members lose names, admins and the user keep them.</summary>
public sealed class PrivacyTests
{
    [Theory]
    [InlineData(true, "Bob", "Bob")]
    [InlineData(false, "", "Bob")]
    public async Task Full_names_are_hidden_from_members_but_not_from_admins_or_the_user(bool showFullName, string memberSees, string adminSees)
    {
        await using var s = await TestServer.StartAsync(settings => settings.ShowFullName = showFullName);
        var (bob, bobToken) = s.AddMember("bob");
        s.Sandbox.SetNames(bob.Id, "Bob", "Jones", "bobby");
        var (_, erinToken) = s.AddMember("erin");

        var (_, asMember) = await s.SendAsync(HttpMethod.Get, $"/api/v4/users/{bob.Id}", erinToken);
        var (_, asAdmin) = await s.SendAsync(HttpMethod.Get, $"/api/v4/users/{bob.Id}", s.Seed.AdminToken);
        var (_, asHimself) = await s.SendAsync(HttpMethod.Get, $"/api/v4/users/{bob.Id}", bobToken);
        var (_, byName) = await s.SendAsync(HttpMethod.Get, "/api/v4/users/username/bob", erinToken);
        var (_, config) = await s.SendAsync(HttpMethod.Get, "/api/v4/config/client?format=old", erinToken);

        Assert.Equal((memberSees, "bobby"), (asMember.Str("first_name"), asMember.Str("nickname")));
        Assert.Equal(memberSees, byName.Str("first_name"));
        Assert.Equal((adminSees, "Jones"), (asAdmin.Str("first_name"), asAdmin.Str("last_name")));
        Assert.Equal("Bob", asHimself.Str("first_name"));
        Assert.Equal(showFullName ? "true" : "false", config.Str("ShowFullName"));
    }
}
