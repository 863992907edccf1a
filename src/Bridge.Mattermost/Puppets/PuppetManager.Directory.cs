using Bridge.Core.Model;

namespace Bridge.Mattermost.Puppets;

/// <summary>Which person a puppet stands for and back, for mentions: read-only, never creates a puppet.</summary>
internal sealed partial class PuppetManager
{
    /// <summary>The username of <paramref name="person"/>'s puppet, or null when they have none yet.</summary>
    public string? UsernameOf(PersonRef person) => _byPerson.TryGetValue(person.Key, out var rec) ? rec.Username : null;

    /// <summary>The person the puppet called <paramref name="username"/> stands for, or null when it is no puppet.</summary>
    public PersonRef? PersonOfUsername(string username)
    {
        foreach (var (key, rec) in _byPerson)
        {
            if (string.Equals(rec.Username, username, StringComparison.OrdinalIgnoreCase) && key.IndexOf('/') is > 0 and var slash)
            {
                return new PersonRef { NetworkId = key[..slash], UserId = key[(slash + 1)..], DisplayName = rec.DisplayName };
            }
        }

        return null;
    }
}
