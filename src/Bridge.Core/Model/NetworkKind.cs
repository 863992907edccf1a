namespace Bridge.Core.Model;

/// <summary>The protocol a configured network speaks.</summary>
public enum NetworkKind
{
    Xmpp,
    Matrix,
    Mattermost,
}
