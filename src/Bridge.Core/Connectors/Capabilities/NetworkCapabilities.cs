namespace Bridge.Core.Connectors.Capabilities;

/// <summary>
/// What a network can show, declared by its connector (<see cref="INetworkConnector.Capabilities"/>). The core reads it
/// in one place (<see cref="DeliveryDegradation"/>) to decide how an event the network cannot show is degraded, so a
/// connector never invents its own fallback. <c>docs/capabilities.md</c> shows the table per network; a test keeps the
/// two the same.
/// </summary>
public sealed record NetworkCapabilities
{
    /// <summary>A sent message can be changed in place (Matrix <c>m.replace</c>, Mattermost patch, XEP-0308).</summary>
    public bool Edits { get; init; } = true;

    /// <summary>A sent message can be taken back (Matrix redaction, Mattermost delete, XEP-0424 retraction).</summary>
    public bool Deletes { get; init; } = true;

    /// <summary>A person can react to a message with a key (<see cref="INetworkConnector.CanShowReaction"/> says which keys).</summary>
    public bool Reactions { get; init; } = true;

    /// <summary>A reaction, once given, can be taken back.</summary>
    public bool ReactionRemoval { get; init; } = true;

    /// <summary>A message can point at the message it answers.</summary>
    public bool Replies { get; init; } = true;

    /// <summary>Messages can be grouped under a root message as a thread.</summary>
    public bool Threads { get; init; }

    /// <summary>Files can be uploaded and shown in the conversation.</summary>
    public bool Files { get; init; }

    /// <summary>How the network marks up text (the connector converts to it at delivery).</summary>
    public RichText RichText { get; init; } = RichText.Plain;

    /// <summary>The network shows that someone is typing.</summary>
    public bool Typing { get; init; }

    /// <summary>Which reaction keys the network can show, in words for the table (the connector decides per key).</summary>
    public string ReactionKeys { get; init; } = "any";
}

/// <summary>The markup a network shows.</summary>
public enum RichText
{
    /// <summary>Text as it is.</summary>
    Plain,

    /// <summary>Mattermost Markdown.</summary>
    Markdown,

    /// <summary>Sanitised HTML next to a plain body (Matrix <c>formatted_body</c>).</summary>
    Html,

    /// <summary>XEP-0393 message styling in the plain body.</summary>
    Styling,
}
