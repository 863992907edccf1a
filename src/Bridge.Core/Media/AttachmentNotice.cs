using System.Globalization;
using Bridge.Core.Model;

namespace Bridge.Core.Media;

/// <summary>
/// The words for a file that could not cross, in one place so every network says the same: a short line in the
/// delivered message (never a link to the source's server) and a notice to the sender.
/// </summary>
public static class AttachmentNotice
{
    /// <summary>What stands in the delivered message for <paramref name="attachment"/>.</summary>
    public static string InMessage(Attachment attachment, MediaFailure failure, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        return failure switch
        {
            // A link to a server the bridge may not fetch from is shown as the sender wrote it: it is public to them.
            MediaFailure.NotFetchable when attachment.Url is { Length: > 0 } url => $"{attachment.Name}: {url}",
            MediaFailure.NotFetchable => $"[file \"{attachment.Name}\"]",
            MediaFailure.TooLarge => $"[file \"{attachment.Name}\" not delivered: larger than the {Size(maxBytes)} limit here]",
            _ => $"[file \"{attachment.Name}\" not delivered: it could not be read from its network]",
        };
    }

    /// <summary>What the sender is told, or null when there is nothing for them to act on (a plain link).</summary>
    public static string? ToSender(Attachment attachment, string destinationNetworkId, MediaFailure failure, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        return failure switch
        {
            MediaFailure.TooLarge => $"Your file \"{attachment.Name}\" was not delivered to network '{destinationNetworkId}': it is larger than its {Size(maxBytes)} limit.",
            MediaFailure.Unavailable => $"Your file \"{attachment.Name}\" was not delivered to network '{destinationNetworkId}': it could not be read.",
            _ => null,
        };
    }

    /// <summary>Several sender notices as one (one notice per message).</summary>
    public static string? Join(IEnumerable<string?> notices)
    {
        var all = notices.Where(n => n is { Length: > 0 }).Distinct(StringComparer.Ordinal).ToArray();
        return all.Length == 0 ? null : string.Join(" ", all);
    }

    /// <summary>Bytes in the largest whole unit that fits (100 MB, 512 KB, 900 bytes), binary multiples as servers count them.</summary>
    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => (bytes >> 30).ToString(CultureInfo.InvariantCulture) + " GB",
        >= 1L << 20 => Math.Round(bytes / (double)(1L << 20), 1).ToString(CultureInfo.InvariantCulture) + " MB",
        >= 1L << 10 => Math.Round(bytes / (double)(1L << 10), 1).ToString(CultureInfo.InvariantCulture) + " KB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
    };
}
