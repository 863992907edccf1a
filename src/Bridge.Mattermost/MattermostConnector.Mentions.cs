using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Bridge.Core.Model;
using Bridge.Core.Text.Mentions;
using Bridge.Mattermost.Api;
using Bridge.Mattermost.Text;
using Microsoft.Extensions.Logging;

namespace Bridge.Mattermost;

/// <summary>
/// Mentions: <c>@username</c> in a post names a Mattermost person or, for a puppet, the person it stands for; a mention
/// from elsewhere becomes <c>@username</c> of the person's puppet here, or of their own account when they are from here.
/// </summary>
public sealed partial class MattermostConnector
{
    private const int MaxMentionsPerPost = 32;
    private const int MaxRememberedNames = 10_000;
    private readonly ConcurrentDictionary<string, MmUser?> _usersByName = new(StringComparer.OrdinalIgnoreCase);

    // Mattermost usernames: a letter, then letters, digits, '.', '-', '_' (lower case; the server compares without case).
    [GeneratedRegex(@"(?<![\p{L}\p{N}_.\-@`])@([A-Za-z][A-Za-z0-9._\-]{0,63})", RegexOptions.CultureInvariant)]
    private static partial Regex UsernameMention();

    [GeneratedRegex(@"```[\s\S]*?(```|$)|`[^`\n]*`", RegexOptions.None, 250)]
    private static partial Regex Code();

    /// <summary>The people a post's <c>@username</c>s name; channel-wide keywords and unknown names are no one.</summary>
    private async Task<IReadOnlyList<Mention>> ReadMentionsAsync(string message, CancellationToken ct)
    {
        if (!message.Contains('@', StringComparison.Ordinal))
        {
            return [];
        }

        List<(int Index, int End)> code;
        try
        {
            code = [.. Code().Matches(message).Select(m => (m.Index, m.Index + m.Length))];
        }
        catch (RegexMatchTimeoutException)
        {
            return []; // too costly to read: no mentions rather than a stalled stream
        }

        var mentions = new List<Mention>();
        foreach (Match m in UsernameMention().Matches(message))
        {
            if (mentions.Count == MaxMentionsPerPost || code.Any(c => m.Index >= c.Index && m.Index < c.End))
            {
                continue;
            }

            // The server ignores a trailing '.' (end of a sentence) when it matches a mention.
            var name = m.Groups[1].Value.TrimEnd('.');
            if (name.ToLowerInvariant() is "all" or "channel" or "here")
            {
                continue;
            }

            if (await PersonOfUsernameAsync(name, ct) is { } person)
            {
                mentions.Add(new Mention { Person = person, Written = "@" + name });
            }
        }

        return mentions;
    }

    private async Task<PersonRef?> PersonOfUsernameAsync(string username, CancellationToken ct)
    {
        if (_puppets.PersonOfUsername(username) is { } remote)
        {
            return remote;
        }

        if (!_usersByName.TryGetValue(username, out var user))
        {
            try
            {
                user = await _api.FindUserByUsernameAsync(username.ToLowerInvariant(), AdminToken, ct);
            }
            catch (MattermostApiException e)
            {
                _logger.LogDebug(MattermostLog.InboundFailed, "Could not look up the mentioned @{Username}: {Error}", username, e.Message);
                return null; // not remembered: asked again next time
            }

            if (_usersByName.Count >= MaxRememberedNames)
            {
                _usersByName.Clear(); // anyone can write any name: what is remembered stays bounded
            }

            _usersByName[username] = user;
        }

        if (user is null || user.DeleteAt != 0 || IsOwnUser(user.Id))
        {
            return null;
        }

        // The name cache is not refreshed by user_updated: it must never replace a fresher record (a picture set since
        // would read as removed, and a new name as the old one).
        _users.AddOrUpdate(user.Id, user, (_, known) => known.UpdateAt >= user.UpdateAt ? known : user);
        return await PersonAsync(user.Id, null, ct);
    }

    /// <summary>
    /// The post text with each mention as <c>@username</c> of the right account here. A mention with no account here (the
    /// person never spoke through the bridge) stays as written, with an '@' that notifies no one.
    /// </summary>
    private async Task<string> RenderMentionsAsync(string text, IReadOnlyList<Mention> mentions, CancellationToken ct)
    {
        if (mentions.Count == 0)
        {
            return text;
        }

        var forms = new Dictionary<Mention, string>();
        foreach (var mention in mentions.Take(MaxMentionsPerPost))
        {
            var username = await UsernameHereAsync(mention.Person, ct);
            forms[mention] = username is not null ? "@" + username
                : mention.Written.StartsWith('@') ? "@" + MentionNeutraliser.Joiner + mention.Written[1..]
                : mention.Written;
        }

        return MentionText.Render(text, mentions, m => forms.GetValueOrDefault(m));
    }

    private async Task<string?> UsernameHereAsync(PersonRef person, CancellationToken ct)
    {
        if (person.NetworkId != _network.Id)
        {
            return _puppets.UsernameOf(person);
        }

        if (!_users.TryGetValue(person.UserId, out var user))
        {
            try
            {
                user = await _api.GetUserAsync(person.UserId, AdminToken, ct);
                _users[person.UserId] = user;
            }
            catch (MattermostApiException e)
            {
                _logger.LogDebug(MattermostLog.DeliveryFailed, "Could not look up the mentioned user {UserId}: {Error}", person.UserId, e.Message);
                return null;
            }
        }

        return user.DeleteAt == 0 ? user.Username : null;
    }
}
