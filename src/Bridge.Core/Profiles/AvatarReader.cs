using System.Collections.Concurrent;
using Bridge.Core.Media;
using Bridge.Core.Model;
using Microsoft.Extensions.Logging;

namespace Bridge.Core.Profiles;

/// <summary>
/// Reads people's pictures for every destination through the core's media path (the source connector fetches from its
/// own server with its own credentials). One read per picture version, shared by all destinations; a picture that cannot
/// be read (refused, missing, too large, not a PNG/JPEG/GIF/WebP image) is not asked for again until its backoff ends
/// (1 minute, doubling to 6 hours) and is logged once, however many messages its owner sends meanwhile.
/// </summary>
public sealed class AvatarReader
{
    /// <summary>The largest picture that crosses (servers scale avatars far below this).</summary>
    public const long DefaultMaxBytes = 1L << 20;

    private const int MaxCached = 32;

    /// <summary>Failing pictures remembered for their backoff, at most (by default).</summary>
    internal const int DefaultMaxFailures = 10_000;

    private readonly int _maxFailures;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan LastBackoff = TimeSpan.FromHours(6);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    private readonly IMediaReader _media;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _maxBytes;
    private readonly ConcurrentDictionary<string, Lazy<Task<AvatarImage?>>> _reads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Failure> _failures = new(StringComparer.Ordinal);

    public AvatarReader(IMediaReader media, TimeProvider time, ILogger logger, long maxBytes = DefaultMaxBytes, int maxFailures = DefaultMaxFailures)
    {
        _maxFailures = maxFailures;
        _media = media;
        _time = time;
        _logger = logger;
        _maxBytes = maxBytes;
    }

    /// <summary>The picture, or null when it cannot cross now (the reason was logged when it first failed).</summary>
    public async Task<AvatarImage?> ReadAsync(AvatarRef avatar, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(avatar);
        var key = avatar.Key;
        if (_failures.TryGetValue(key, out var failed) && _time.GetUtcNow() < failed.RetryAt)
        {
            return null;
        }

        var read = _reads.GetOrAdd(key, _ => new Lazy<Task<AvatarImage?>>(() => FetchAsync(avatar), LazyThreadSafetyMode.ExecutionAndPublication));
        var image = await read.Value.WaitAsync(cancellationToken);
        if (image is null)
        {
            _reads.TryRemove(KeyValuePair.Create(key, read));
        }
        else if (_reads.Count > MaxCached)
        {
            foreach (var old in _reads.Where(r => r.Key != key && r.Value.IsValueCreated && r.Value.Value.IsCompleted).Take(_reads.Count - MaxCached / 2).ToList())
            {
                _reads.TryRemove(old);
            }
        }
        return image;
    }

    private async Task<AvatarImage?> FetchAsync(AvatarRef avatar)
    {
        var attachment = new Attachment { Name = "avatar", ContentType = "", Source = avatar.Source };
        string reason;
        try
        {
            using var timeout = new CancellationTokenSource(ReadTimeout, _time);
            await using var file = await _media.ReadAsync(attachment, _maxBytes, timeout.Token);
            var bytes = await file.ReadAllBytesAsync(timeout.Token);
            var sniffed = ImageSniffer.Sniff(bytes);
            if (!file.ContentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            {
                reason = $"the server called it {file.ContentType}, not an image";
            }
            else if (sniffed is null)
            {
                reason = "its bytes are not a PNG, JPEG, GIF or WebP image";
            }
            else
            {
                _failures.TryRemove(avatar.Key, out _);
                _logger.LogDebug(ProfilesLog.AvatarRead, "Picture {Reference} from {Network} read ({Bytes} bytes, {Type})",
                    avatar.Source.Reference, avatar.Source.NetworkId, bytes.Length, sniffed);
                return new AvatarImage(bytes, sniffed);
            }
        }
        catch (MediaUnavailableException e)
        {
            reason = $"{e.Failure}: {e.Message}";
        }
        catch (OperationCanceledException)
        {
            reason = "timed out";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever a source connector throws costs only the picture: it must never fail the message it came with.
            reason = e.Message;
        }

        var now = _time.GetUtcNow();
        if (_failures.Count >= _maxFailures)
        {
            // Bounded: a source that keeps naming new pictures (an XMPP photo hash changed in every presence) must not
            // grow this for ever. Failures whose wait is over go first; if all are waiting, the map starts over.
            foreach (var over in _failures.Where(f => f.Value.RetryAt <= now).ToList())
            {
                _failures.TryRemove(over);
            }

            if (_failures.Count >= _maxFailures)
            {
                _failures.Clear();
            }
        }

        var failure = _failures.AddOrUpdate(avatar.Key,
            _ => new Failure(1, now + FirstBackoff),
            (_, old) => new Failure(old.Count + 1, now + Backoff(old.Count + 1)));
        if (failure.Count == 1)
        {
            _logger.LogWarning(ProfilesLog.AvatarUnavailable, "Picture {Reference} from {Network} not read ({Reason}); not asked for again before {RetryAt:u}",
                avatar.Source.Reference, avatar.Source.NetworkId, reason, failure.RetryAt);
        }
        else
        {
            _logger.LogDebug(ProfilesLog.AvatarUnavailable, "Picture {Reference} from {Network} still not read ({Reason}, {Count} times)",
                avatar.Source.Reference, avatar.Source.NetworkId, reason, failure.Count);
        }
        return null;
    }

    /// <summary>1 minute after the first failure, doubling after each further one, at most 6 hours.</summary>
    internal static TimeSpan Backoff(int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 20));
        var wait = TimeSpan.FromTicks((long)Math.Min(FirstBackoff.Ticks * factor, LastBackoff.Ticks));
        return wait;
    }

    /// <summary>How many failures are remembered now (for tests).</summary>
    internal int RememberedFailures => _failures.Count;

    private sealed record Failure(int Count, DateTimeOffset RetryAt);
}

internal static class ProfilesLog
{
    public static readonly EventId AvatarRead = new(1951, nameof(AvatarRead));
    public static readonly EventId AvatarUnavailable = new(1952, nameof(AvatarUnavailable));
}
