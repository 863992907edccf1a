namespace Bridge.Core.Model;

/// <summary>One room on one network: a MUC JID, a Matrix room id or alias, a Mattermost channel id or team/name.</summary>
public sealed record ChannelRef(string NetworkId, string ChannelId)
{
    public override string ToString() => $"{NetworkId}:{ChannelId}";
}
