using System.Collections.Concurrent;

namespace Bridge.Storm;

/// <summary>What kind of action a person took.</summary>
public enum ActionKind
{
    Message,
    Edit,
    Reaction,
    File,
}

/// <summary>One action a person took: its unique token (the message token for messages, edits and reactions), when.</summary>
public sealed record SentAction(string Source, ActionKind Kind, string Token, int Sequence, DateTimeOffset At);

/// <summary>Everything the people sent, by whom and when; written by the senders, read by the tally.</summary>
internal sealed class Ledger
{
    private readonly ConcurrentQueue<SentAction> _actions = new();
    private readonly ConcurrentDictionary<string, string> _reactedTargets = new(StringComparer.Ordinal);

    public IReadOnlyList<SentAction> Actions => [.. _actions];

    public void Add(SentAction action) => _actions.Enqueue(action);

    /// <summary>Claims a message as a reaction target: each message is reacted to once in a storm, by one person.</summary>
    public bool ClaimReactionTarget(string token, string reactor) => _reactedTargets.TryAdd(token, reactor);

    public void ReleaseReactionTarget(string token) => _reactedTargets.TryRemove(token, out _);
}
