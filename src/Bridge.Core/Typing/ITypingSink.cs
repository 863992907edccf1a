using Bridge.Core.Model;

namespace Bridge.Core.Typing;

/// <summary>
/// Where a connector reports that someone is typing (or stopped). Ephemeral: never stored, never retried, never in the
/// outbox; reporting returns at once and cannot hold up a message.
/// </summary>
public interface ITypingSink
{
    void Typing(ChannelRef channel, PersonRef person, bool typing);
}

/// <summary>A connector that can show typing: as the person's puppet, only where the puppet already is (never joins for it).</summary>
public interface ITypingTarget
{
    Task ShowTypingAsync(ChannelRef destination, PersonRef person, bool typing, CancellationToken cancellationToken);
}

/// <summary>For contexts without a relay (tools, tests): typing goes nowhere.</summary>
public sealed class NoTyping : ITypingSink
{
    public static NoTyping Instance { get; } = new();

    public void Typing(ChannelRef channel, PersonRef person, bool typing)
    {
    }
}
