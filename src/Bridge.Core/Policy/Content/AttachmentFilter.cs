using Bridge.Core.Model;
using Bridge.Core.Policy.Matching;

namespace Bridge.Core.Policy.Content;

/// <summary>Which attachments may cross: allowed at all, by content type (globs) and by size.</summary>
internal sealed class AttachmentFilter
{
    private readonly bool _allowed;
    private readonly IdPatternList _types;
    private readonly long? _maxBytes;

    public AttachmentFilter(bool allowed, IdPatternList types, long? maxBytes, bool blockMessage)
    {
        _allowed = allowed;
        _types = types;
        _maxBytes = maxBytes;
        BlockMessage = blockMessage;
    }

    /// <summary>True: a disallowed attachment blocks the whole message; false: it is dropped from the message.</summary>
    public bool BlockMessage { get; }

    public bool IsAllowed(Attachment a) =>
        _allowed
        && (_types.IsEmpty || _types.Matches(a.ContentType))
        && (_maxBytes is null || (a.Size >= 0 && a.Size <= _maxBytes));

    /// <summary>The attachments that may cross; the same list instance when all may.</summary>
    public IReadOnlyList<Attachment> Filter(IReadOnlyList<Attachment> attachments)
    {
        var all = true;
        for (var i = 0; i < attachments.Count && all; i++)
        {
            all = IsAllowed(attachments[i]);
        }

        return all ? attachments : attachments.Where(IsAllowed).ToArray();
    }
}
