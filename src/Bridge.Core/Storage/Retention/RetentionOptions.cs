using System.Globalization;
using Bridge.Core.Connectors;

namespace Bridge.Core.Storage.Retention;

/// <summary>
/// How long the store keeps what it no longer needs for delivery (<c>retention:</c>). Durations are written like
/// <c>7d</c>, <c>12h</c>, <c>30m</c>, <c>45s</c> (or <c>hh:mm:ss</c>).
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Delivered and skipped outbox rows are deleted this long after their delivery.</summary>
    public string Delivered { get; set; } = "7d";

    /// <summary>
    /// The message map (origin ⇄ native ids, for edits, replies, reactions and echo suppression), the inbound dedupe
    /// marks and per-message connector state are deleted this long after the message came in.
    /// </summary>
    public string MessageMap { get; set; } = "30d";

    /// <summary>How often the worker looks for rows to delete.</summary>
    public string Interval { get; set; } = "1h";

    /// <summary>Rows deleted per transaction (the store is free for ingest and delivery between batches).</summary>
    public int BatchSize { get; set; } = 1_000;

    public TimeSpan DeliveredAge => ParseDuration(Delivered) ?? throw new InvalidOperationException("retention:delivered not validated");

    public TimeSpan MessageMapAge => ParseDuration(MessageMap) ?? throw new InvalidOperationException("retention:messageMap not validated");

    public TimeSpan IntervalTime => ParseDuration(Interval) ?? throw new InvalidOperationException("retention:interval not validated");

    public void Validate(List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Check("retention:delivered", Delivered, TimeSpan.FromMinutes(1), errors);
        Check("retention:messageMap", MessageMap, TimeSpan.FromMinutes(1), errors);
        Check("retention:interval", Interval, TimeSpan.FromSeconds(1), errors);
        if (ParseDuration(Delivered) is { } delivered && ParseDuration(MessageMap) is { } map && map < delivered)
        {
            // An edit of a message whose delivered row is still kept must still find the message's ids.
            errors.Add(new ConfigError("retention:messageMap", $"must not be shorter than retention:delivered ({Delivered})"));
        }

        if (BatchSize is < 1 or > 100_000)
        {
            errors.Add(new ConfigError("retention:batchSize", "must be between 1 and 100000"));
        }
    }

    private static void Check(string key, string value, TimeSpan minimum, List<ConfigError> errors)
    {
        var parsed = ParseDuration(value);
        if (parsed is null)
        {
            errors.Add(new ConfigError(key, $"'{value}' is not a duration such as 7d, 12h, 30m or 45s"));
        }
        else if (parsed < minimum)
        {
            errors.Add(new ConfigError(key, $"must be at least {Format(minimum)}"));
        }
    }

    private static string Format(TimeSpan t) => t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0}m" : $"{t.TotalSeconds:0}s";

    /// <summary>A whole number with a unit (d, h, m, s), or a TimeSpan (<c>hh:mm:ss</c>); null when neither.</summary>
    public static TimeSpan? ParseDuration(string? value)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var unit = text[^1];
        if (char.IsLetter(unit) && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) && amount <= 100_000)
        {
            return char.ToLowerInvariant(unit) switch
            {
                'd' => TimeSpan.FromDays(amount),
                'h' => TimeSpan.FromHours(amount),
                'm' => TimeSpan.FromMinutes(amount),
                's' => TimeSpan.FromSeconds(amount),
                _ => null,
            };
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero ? span : null;
    }
}
