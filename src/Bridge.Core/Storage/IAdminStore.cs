using Bridge.Core.Model;

namespace Bridge.Core.Storage;

/// <summary>
/// What the admin API changes in the store: links made at run time and dead letters. Every change is one transaction
/// with its audit records, so a change is either wholly applied and audited or not at all.
/// </summary>
public interface IAdminStore
{
    /// <summary>The links made through the admin API, in the order they were first created.</summary>
    Task<IReadOnlyList<StoredLink>> GetLinksAsync(CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: saves link <paramref name="id"/> as <paramref name="definitionJson"/> (or deletes it when null),
    /// dead-letters the pending rows of that link toward each of <paramref name="retired"/> with <paramref name="reason"/>
    /// (each with its outcome audit record), and appends <paramref name="audit"/>. Returns how many rows were dead-lettered.
    /// </summary>
    Task<int> ChangeLinkAsync(string id, string? definitionJson, string changedBy, IReadOnlyList<ChannelRef> retired, string reason,
        IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken);

    /// <summary>
    /// A dead letter back to pending with no attempts counted (<paramref name="retry"/>) or dropped for good (kept as
    /// skipped, with <paramref name="reason"/>), with <paramref name="audit"/> in the same transaction. False when
    /// <paramref name="outboxId"/> is not a dead letter (nothing written).
    /// </summary>
    Task<bool> ResolveDeadLetterAsync(long outboxId, bool retry, string reason, AuditDraft audit, CancellationToken cancellationToken);
}

/// <summary>A link made through the admin API as stored: its definition (JSON), and when and by whom it was last changed.</summary>
public sealed record StoredLink(string Id, string DefinitionJson, DateTimeOffset UpdatedAt, string UpdatedBy);
