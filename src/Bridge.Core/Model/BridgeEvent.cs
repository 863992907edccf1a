namespace Bridge.Core.Model;

/// <summary>What happened on a network, normalised so that the core never needs to know the protocol.</summary>
public sealed record BridgeEvent
{
    public required string NetworkId { get; init; }
    public required string ChannelId { get; init; }

    /// <summary>The id the source network gave the event; unique per network, used for dedupe and mapping.</summary>
    public required string NativeId { get; init; }

    public BridgeEventKind Kind { get; init; } = BridgeEventKind.Message;
    public MessageKind MessageKind { get; init; } = MessageKind.Text;
    public required PersonRef Sender { get; init; }

    /// <summary>Plain text (light Markdown allowed) that every network can show.</summary>
    public string Text { get; init; } = "";

    /// <summary>Sanitised HTML when the source had rich text.</summary>
    public string? Html { get; init; }

    /// <summary>
    /// How <see cref="Text"/> is marked up at the source (Mattermost Markdown, XEP-0393 styling, plain). Destinations
    /// convert from it when they deliver; the classifier never reads it, so formatting cannot change a label.
    /// </summary>
    public TextFormat TextFormat { get; init; } = TextFormat.Plain;

    /// <summary>For edits, deletes and reactions: the source network's native id of the message acted on.</summary>
    public string? TargetNativeId { get; init; }

    /// <summary>For replies: the source network's native id of the message replied to.</summary>
    public string? ReplyToNativeId { get; init; }

    /// <summary>
    /// For a message in a thread: the source network's native id of the thread's root message (Mattermost <c>root_id</c>,
    /// Matrix <c>m.thread</c> relation, XMPP XEP-0201 thread of a known root). Each destination threads under its own copy
    /// of the root; a destination without threads shows a reply to it.
    /// </summary>
    public string? ThreadRootNativeId { get; init; }

    /// <summary>
    /// The people this message mentions, in the order they appear in <see cref="Text"/>. Never read by the classifier:
    /// the text is classified as written.
    /// </summary>
    public IReadOnlyList<Mention> Mentions { get; init; } = [];

    /// <summary>For reactions and reaction removals: the emoji or key (Unicode where the network has it).</summary>
    public string? ReactionKey { get; init; }

    public DateTimeOffset Timestamp { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>Classification labels found in structured fields (Mattermost props, Matrix content, XEP-0258).</summary>
    public IReadOnlyList<string> StructuredLabels { get; init; } = [];

    public IReadOnlyList<Attachment> Attachments { get; init; } = [];

    public ChannelRef Channel => new(NetworkId, ChannelId);
}

public enum BridgeEventKind
{
    Message,
    Edit,
    Delete,
    Reaction,

    /// <summary>
    /// The sender took back their reaction <see cref="BridgeEvent.ReactionKey"/> to <see cref="BridgeEvent.TargetNativeId"/>
    /// (Matrix: a redaction of the reaction; Mattermost: <c>reaction_removed</c>; XMPP: a full set without the key).
    /// </summary>
    ReactionRemoved,
}

/// <summary>The meaning of a message: Matrix m.text / m.emote / m.notice; XMPP /me; Mattermost me-posts.</summary>
public enum MessageKind
{
    Text,
    Emote,
    Notice,
}

/// <summary>
/// A file of a message. Its bytes stay on the network it was posted on (<see cref="Source"/>); a destination asks the
/// core's <see cref="Media.IMediaReader"/> for them, which asks the source's connector. A caption is the event's text.
/// </summary>
public sealed record Attachment
{
    public required string Name { get; init; }
    public required string ContentType { get; init; }

    /// <summary>Size in bytes as the source announced it (0 when unknown); checked against caps before anything is fetched.</summary>
    public long Size { get; init; }

    /// <summary>Where the bytes are: the source network and its own reference (null: nothing the bridge may fetch).</summary>
    public Media.MediaSource? Source { get; init; }

    /// <summary>A link shown as it is and never fetched (a file on a server the bridge is not configured to fetch from).</summary>
    public string? Url { get; init; }

    /// <summary>Image or video dimensions in pixels, when the source gave them.</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }
}
