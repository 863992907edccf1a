namespace Bridge.Core.Media;

/// <summary>
/// Where a file's bytes live: the network it was posted on and that network's own reference to it (a Mattermost file id,
/// an <c>mxc://</c> URI, an XMPP upload URL on a configured host). Only the connector of <paramref name="NetworkId"/>
/// understands <paramref name="Reference"/>, and only it fetches it, with its own credentials, from its own server.
/// </summary>
public sealed record MediaSource(string NetworkId, string Reference);
