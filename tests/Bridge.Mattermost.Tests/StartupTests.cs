namespace Bridge.Mattermost.Tests;

public sealed class StartupTests
{
    private static async Task<string> StartupErrorAsync(Action<MattermostOptions> configure)
    {
        await using var h = await MmHarness.StartAsync(options: configure, waitReady: false);
        await MmHarness.WaitUntilAsync(() => h.Connector.LastError is not null, "a start-up error");
        Assert.False(h.Connector.IsReady);
        Assert.False(h.Connector.Started.IsCompleted);
        return h.Connector.LastError!;
    }

    [Fact]
    public async Task Unreachable_url_is_reported()
    {
        var error = await StartupErrorAsync(o => o.Url = "http://127.0.0.1:1/");
        Assert.Contains("cannot reach Mattermost at http://127.0.0.1:1/", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_token_is_reported()
    {
        var error = await StartupErrorAsync(o => o.Token = "wrongtokenwrongtokenwrongt");
        Assert.Contains("refused the configured token", error, StringComparison.Ordinal);
        Assert.Contains("api.context.session_expired.app_error", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_without_admin_rights_is_reported()
    {
        await using var h = await MmHarness.StartAsync(waitReady: false, token: sb => sb.CreateAccessToken(sb.CreateUser("plainuser").Id));
        await MmHarness.WaitUntilAsync(() => h.Connector.LastError is not null, "rights error");
        Assert.Contains("@plainuser", h.Connector.LastError!, StringComparison.Ordinal);
        Assert.Contains("not a system admin", h.Connector.LastError!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_team_is_reported()
    {
        var error = await StartupErrorAsync(o => o.Team = "no-such-team");
        Assert.Contains("team 'no-such-team' not found", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_channel_is_reported()
    {
        await using var h = await MmHarness.StartAsync(waitReady: false, channel: "demo/no-such-channel");
        await MmHarness.WaitUntilAsync(() => h.Connector.LastError is not null, "channel error");
        Assert.Contains("Mattermost channel 'demo/no-such-channel' not found", h.Connector.LastError!, StringComparison.Ordinal);
    }
}
