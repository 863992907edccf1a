using Bridge.Core.Media;

namespace Bridge.Core.Profiles;

/// <summary>
/// A person's picture as their own network names it: where its bytes are (<see cref="Source"/>, read only through the
/// source connector, like a file) and a <see cref="Version"/> that changes whenever the picture does (Mattermost
/// <c>last_picture_update</c>, the Matrix <c>mxc://</c> URI, the XEP-0153 photo hash). Destinations compare versions, so
/// an unchanged picture is never fetched again.
/// </summary>
public sealed record AvatarRef(MediaSource Source, string Version)
{
    /// <summary>The key a destination stores for what it last applied (source network, reference and version).</summary>
    public string Key => $"{Source.NetworkId}|{Source.Reference}|{Version}";
}
