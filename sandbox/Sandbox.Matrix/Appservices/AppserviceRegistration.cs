using System.Text.RegularExpressions;

namespace Sandbox.Matrix.Appservices;

/// <summary>One namespace entry of a registration: a regex and whether it is exclusive.</summary>
public sealed class NamespaceEntry
{
    private Regex? _compiled;

    public bool Exclusive { get; set; }

    public string Regex { get; set; } = string.Empty;

    /// <summary>Registration regexes must match the whole id (as real homeservers anchor them).</summary>
    public bool IsMatch(string value)
    {
        _compiled ??= new Regex("^(?:" + Regex + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return _compiled.IsMatch(value);
    }
}

/// <summary>An application service registration, as loaded from the YAML file a homeserver is configured with.</summary>
public sealed class AppserviceRegistration
{
    public string Id { get; set; } = string.Empty;

    /// <summary>Base URL the homeserver pushes to; null means the appservice receives nothing.</summary>
    public string? Url { get; set; }

    public string AsToken { get; set; } = string.Empty;

    public string HsToken { get; set; } = string.Empty;

    public string SenderLocalpart { get; set; } = string.Empty;

    public IList<NamespaceEntry> Users { get; } = new List<NamespaceEntry>();

    public IList<NamespaceEntry> Aliases { get; } = new List<NamespaceEntry>();

    public IList<NamespaceEntry> Rooms { get; } = new List<NamespaceEntry>();

    public bool RateLimited { get; set; }

    /// <summary>
    /// <c>receive_ephemeral: true</c> (spec v1.13, MSC2409): transactions carry the <c>ephemeral</c> array (m.typing of
    /// rooms the appservice is interested in). Off by default, as the spec says: nothing ephemeral is pushed without it.
    /// </summary>
    public bool ReceiveEphemeral { get; set; }

    /// <summary>
    /// The unstable registration key <c>de.sorunome.msc2409.push_ephemeral: true</c>: the same events under the unstable
    /// transaction key <c>de.sorunome.msc2409.ephemeral</c>, as Synapse sends them.
    /// </summary>
    public bool ReceiveEphemeralUnstable { get; set; }

    internal string SenderUserId(string serverName) => "@" + SenderLocalpart + ":" + serverName;

    internal bool IsUserInNamespace(string userId, string serverName) =>
        userId == SenderUserId(serverName) || Matches(Users, userId, exclusiveOnly: false);

    internal bool IsUserExclusive(string userId) => Matches(Users, userId, exclusiveOnly: true);

    internal bool IsAliasInNamespace(string alias) => Matches(Aliases, alias, exclusiveOnly: false);

    internal bool IsAliasExclusive(string alias) => Matches(Aliases, alias, exclusiveOnly: true);

    internal bool IsRoomInNamespace(string roomId) => Matches(Rooms, roomId, exclusiveOnly: false);

    private static bool Matches(IEnumerable<NamespaceEntry> entries, string value, bool exclusiveOnly)
    {
        foreach (var entry in entries)
        {
            if ((!exclusiveOnly || entry.Exclusive) && entry.IsMatch(value))
            {
                return true;
            }
        }

        return false;
    }
}
