namespace Bridge.Xmpp.Stream;

/// <summary>The peer sent something we refuse; <see cref="Condition"/> is the RFC 6120 stream error we answer with.</summary>
internal sealed class XmppStreamViolationException(string condition, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string Condition { get; } = condition;
}

/// <summary>The peer closed the stream, sent a stream error, or the connection dropped.</summary>
internal sealed class XmppStreamClosedException(string message, string? condition = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string? Condition { get; } = condition;
}

/// <summary>The server refused our handshake (wrong secret, unknown component domain).</summary>
internal sealed class XmppHandshakeException(string message, string? condition = null) : Exception(message)
{
    public string? Condition { get; } = condition;
}

/// <summary>A stanza we were about to send fails our own checks; nothing was written.</summary>
internal sealed class StanzaRejectedException(string message) : Exception(message);
