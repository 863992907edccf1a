using Bridge.Core.Model;

namespace Bridge.Mattermost.Puppets;

/// <summary>Puppets in direct chats: made and given a token without joining a channel (nobody can be added to a DM channel).</summary>
internal sealed partial class PuppetManager
{
    /// <summary>The puppet of <paramref name="person"/>, created if needed, with a token and a member of the team (to be seen).</summary>
    public async Task<PuppetRecord> EnsureUserAsync(PersonRef person, string teamId, string adminToken, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var rec = await UserWithTokenLockedAsync(person, adminToken, ct);
            if (teamId.Length > 0 && !_joined.ContainsKey((rec.UserId, "team:" + teamId)))
            {
                await _api.AddTeamMemberAsync(teamId, rec.UserId, adminToken, ct);
                _joined[(rec.UserId, "team:" + teamId)] = true;
            }

            return rec;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The person a puppet user stands for (network and user id from its key, the name it shows), or null.</summary>
    public PersonRef? PersonOf(string userId)
    {
        if (!_personByUserId.TryGetValue(userId, out var key) || !_byPerson.TryGetValue(key, out var rec))
        {
            return null;
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 ? null : new PersonRef { NetworkId = key[..slash], UserId = key[(slash + 1)..], DisplayName = rec.DisplayName };
    }

    /// <summary>The user id of the puppet of the person with key <paramref name="personKey"/>, or null.</summary>
    public string? UserIdOf(string personKey) => _byPerson.GetValueOrDefault(personKey)?.UserId;

    /// <summary>Every puppet with the person it stands for.</summary>
    public IReadOnlyList<(PersonRef Person, PuppetRecord Record)> AllPuppets =>
        [.. _personByUserId.Keys.Select(id => (Person: PersonOf(id), Record: _byPerson.GetValueOrDefault(_personByUserId[id])))
            .Where(p => p.Person is not null && p.Record is not null).Select(p => (p.Person!, p.Record!))];
}
