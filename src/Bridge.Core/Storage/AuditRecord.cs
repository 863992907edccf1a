namespace Bridge.Core.Storage;

/// <summary>One policy decision, as written to the append-only, hash-chained audit trail.</summary>
public sealed record AuditDraft
{
    public required DateTimeOffset At { get; init; }
    public required string Kind { get; init; }
    public string LinkId { get; init; } = "";
    public string EventKey { get; init; } = "";
    public string SourceNetwork { get; init; } = "";
    public string SourcePerson { get; init; } = "";
    public string Destination { get; init; } = "";
    public required string Decision { get; init; }
    public string RuleId { get; init; } = "";
    public string Label { get; init; } = "";
    public string ContentHash { get; init; } = "";

    /// <summary>The content itself, only when the operator turned that on.</summary>
    public string? Content { get; init; }
}

/// <summary>An audit record as stored: the draft plus its sequence number and chain hashes.</summary>
public sealed record AuditRecord
{
    public required long Sequence { get; init; }
    public required AuditDraft Entry { get; init; }
    public required string PreviousHash { get; init; }
    public required string Hash { get; init; }

    /// <summary>
    /// The id of the HMAC key that made <see cref="Hash"/>, or empty for a plain SHA-256 record (every record of a trail
    /// written before a key was configured).
    /// </summary>
    public string KeyId { get; init; } = "";
}
