using System.Globalization;
using System.Net;
using Bridge.Mattermost.Api;

namespace Bridge.Mattermost.Startup;

/// <summary>A start-up problem. <see cref="Fatal"/> ones need the operator (token, rights, names); others may pass by themselves.</summary>
public sealed class MattermostStartupException(string message, bool fatal, Exception? inner = null) : Exception(message, inner)
{
    public bool Fatal { get; } = fatal;
}

/// <summary>A linked channel resolved to its native id, with the name the link configuration uses.</summary>
internal sealed record ResolvedChannel(string ConfiguredId, string NativeId, string TeamId, string Name);

/// <summary>What the server told us at start.</summary>
internal sealed record ServerFacts(
    MmUser Me,
    string TeamId,
    IReadOnlyList<ResolvedChannel> Channels,
    bool TokensEnabled,
    bool UsernameOverride,
    bool BotsEnabled,
    int MaxPostSize,
    bool FullNamesShown = false);

/// <summary>Start-up checks with errors an operator can act on: URL, token, rights, team and channels.</summary>
internal static class Preflight
{
    public static async Task<ServerFacts> RunAsync(MattermostApiClient api, MattermostOptions options, IReadOnlyList<string> configuredChannels, CancellationToken ct)
    {
        var url = options.Url;
        try
        {
            await api.PingAsync(ct);
        }
        catch (HttpRequestException e)
        {
            throw new MattermostStartupException($"cannot reach Mattermost at {url}: {e.Message}", fatal: false, e);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.TooManyRequests || (int)e.Status >= 500)
        {
            throw new MattermostStartupException($"Mattermost at {url} answered {(int)e.Status} to GET /api/v4/system/ping; will retry", fatal: false, e);
        }
        catch (MattermostApiException e)
        {
            throw new MattermostStartupException($"{url} does not look like a Mattermost server: GET /api/v4/system/ping answered {(int)e.Status}", fatal: true, e);
        }

        MmUser me;
        try
        {
            me = await api.GetMeAsync(options.Token, ct);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.Unauthorized)
        {
            throw new MattermostStartupException(
                $"Mattermost at {url} refused the configured token ({e.ErrorId}). Use a personal access token of a system admin or of a bot with the system_admin role.",
                fatal: true, e);
        }

        var needsAdmin = options.PuppetMode != PuppetMode.Relay;
        if (needsAdmin && !me.IsSystemAdmin)
        {
            throw new MattermostStartupException(
                $"the token belongs to @{me.Username} (roles '{me.Roles}'), who is not a system admin: puppets need system_admin " +
                "(create users, mint their tokens, add them to teams and channels). Give the account the system_admin role, or set puppetMode: relay.",
                fatal: true);
        }

        var config = await api.GetClientConfigAsync(options.Token, ct);
        bool Flag(string key) => config.TryGetValue(key, out var v) && v == "true";
        var maxPostSize = config.TryGetValue("MaxPostSize", out var mps) && int.TryParse(mps, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 64 ? n : 16383;

        var channels = new List<ResolvedChannel>();
        string? defaultTeamId = null;
        if (options.Team.Length > 0)
        {
            defaultTeamId = (await GetTeamAsync(api, options, options.Team, ct)).Id;
        }
        var teams = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var configured in configuredChannels)
        {
            channels.Add(await ResolveChannelAsync(api, options, configured, defaultTeamId, teams, ct));
        }
        var teamId = defaultTeamId ?? channels.FirstOrDefault()?.TeamId ?? "";
        // PrivacySettings.ShowFullName: whether members see each other's first and last names. Only an explicit "true"
        // counts; the bridge (an admin) sees them regardless and must not show more than the members do.
        return new ServerFacts(me, teamId, channels, Flag("EnableUserAccessTokens"), Flag("EnablePostUsernameOverride"), Flag("EnableBotAccountCreation"), maxPostSize,
            Flag("ShowFullName"));
    }

    private static async Task<MmTeam> GetTeamAsync(MattermostApiClient api, MattermostOptions options, string name, CancellationToken ct)
    {
        try
        {
            return await api.GetTeamByNameAsync(name, options.Token, ct);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            throw new MattermostStartupException($"Mattermost team '{name}' not found on {options.Url} (use the team's URL name, not its display name)", fatal: true, e);
        }
        catch (MattermostApiException e) when (e.Status == HttpStatusCode.Forbidden)
        {
            throw new MattermostStartupException($"the token may not see Mattermost team '{name}' ({e.ErrorId}); add the bridge account to the team or make it a system admin", fatal: true, e);
        }
    }

    /// <summary>The default channel of every team: nobody (but a guest) can leave it.</summary>
    public const string DefaultChannelName = "town-square";

    public static async Task<ResolvedChannel> ResolveChannelAsync(MattermostApiClient api, MattermostOptions options, string configured, string? defaultTeamId,
        Dictionary<string, string> teams, CancellationToken ct)
    {
        try
        {
            var slash = configured.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 && configured.Length == 26 && configured.All(char.IsAsciiLetterOrDigit))
            {
                var byId = await api.GetChannelAsync(configured, options.Token, ct);
                return new ResolvedChannel(configured, byId.Id, byId.TeamId, byId.Name);
            }
            string teamId;
            string name;
            if (slash > 0)
            {
                var teamName = configured[..slash];
                if (!teams.TryGetValue(teamName, out teamId!))
                {
                    teamId = (await GetTeamAsync(api, options, teamName, ct)).Id;
                    teams[teamName] = teamId;
                }
                name = configured[(slash + 1)..];
            }
            else
            {
                teamId = defaultTeamId ?? throw new MattermostStartupException($"channel '{configured}' names no team and mattermost:team is not set", fatal: true);
                name = configured;
            }
            var channel = await api.GetChannelByNameAsync(teamId, name, options.Token, ct);
            return new ResolvedChannel(configured, channel.Id, channel.TeamId, channel.Name);
        }
        catch (MattermostApiException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
        {
            throw new MattermostStartupException($"Mattermost channel '{configured}' not found or not visible to the bridge account ({(int)e.Status} {e.ErrorId})", fatal: true, e);
        }
    }
}
