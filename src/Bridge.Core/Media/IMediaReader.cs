using Bridge.Core.Model;

namespace Bridge.Core.Media;

/// <summary>
/// What a destination connector asks for a file's bytes. It never fetches a URL itself: the reader dispatches to the
/// connector of the file's source network (<see cref="IMediaSource"/>) and copies at most the destination's cap.
/// </summary>
public interface IMediaReader
{
    /// <summary>
    /// Reads <paramref name="attachment"/> whole into a local copy of at most <paramref name="maxBytes"/> bytes. Throws
    /// <see cref="MediaUnavailableException"/> (with <see cref="MediaFailure"/>) when it cannot cross.
    /// </summary>
    Task<MediaFile> ReadAsync(Attachment attachment, long maxBytes, CancellationToken cancellationToken);
}

/// <summary>Why a file could not cross.</summary>
public enum MediaFailure
{
    /// <summary>Larger than the destination's cap (announced, or found while reading).</summary>
    TooLarge,

    /// <summary>The source server refused or no longer has it, or could not be reached.</summary>
    Unavailable,

    /// <summary>The file has no source the bridge may fetch from (a link to a server it was not configured for).</summary>
    NotFetchable,
}

/// <summary>A file that cannot cross, and why.</summary>
public sealed class MediaUnavailableException : Exception
{
    public MediaUnavailableException() : this(MediaFailure.Unavailable, "media unavailable") { }

    public MediaUnavailableException(string message) : this(MediaFailure.Unavailable, message) { }

    public MediaUnavailableException(string message, Exception inner) : base(message, inner) => Failure = MediaFailure.Unavailable;

    public MediaUnavailableException(MediaFailure failure, string message, Exception? inner = null) : base(message, inner) => Failure = failure;

    public MediaFailure Failure { get; }
}
