using System.Globalization;
using System.Text;
using System.Text.Json;
using Bridge.Core.Storage;

namespace Bridge.Core.Audit;

public enum AuditExportFormat
{
    /// <summary>One JSON object per line.</summary>
    Jsonl,

    /// <summary>RFC 4180 CSV with a header row.</summary>
    Csv,
}

/// <summary>
/// Writes the audit trail (optionally from a point in time) as JSON lines or CSV, reading the store in pages.
/// Every field is exported as stored, including both hashes and the key id, so an export can be checked against the
/// chain; one derived field follows them, <c>outcome</c>: for a <c>decision</c> record, what finally happened to that
/// delivery (<c>delivered</c>, <c>pending</c>, <c>skipped</c>, <c>dead-lettered</c>, <c>blocked</c>; <c>unknown</c> when
/// the outbox no longer knows the row), and empty for the other kinds.
/// </summary>
public sealed class AuditExporter
{
    private static readonly string[] Columns =
    [
        "seq", "at", "kind", "link", "eventKey", "sourceNetwork", "sourcePerson", "destination", "decision", "ruleId", "label",
        "contentHash", "content", "prevHash", "hash", "keyId", "outcome",
    ];

    private const int StoredColumns = 16;

    private readonly IBridgeStore _store;
    private readonly int _pageSize;

    public AuditExporter(IBridgeStore store, int pageSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        _store = store;
        _pageSize = pageSize;
    }

    /// <summary>Parses a format name as given on the command line (<c>jsonl</c>, <c>json</c>, <c>csv</c>).</summary>
    public static bool TryParseFormat(string? name, out AuditExportFormat format)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "jsonl" or "json" or "ndjson":
                format = AuditExportFormat.Jsonl;
                return true;
            case "csv":
                format = AuditExportFormat.Csv;
                return true;
            default:
                format = default;
                return false;
        }
    }

    /// <summary>
    /// Parses the <c>--since</c> argument: an ISO 8601 time (<c>2026-11-23T10:00:00Z</c>; without an offset it is UTC)
    /// or an age relative to <paramref name="now"/> such as <c>90m</c>, <c>24h</c>, <c>7d</c>.
    /// </summary>
    public static bool TryParseSince(string? text, DateTimeOffset now, out DateTimeOffset since)
    {
        since = default;
        var t = text?.Trim();
        if (string.IsNullOrEmpty(t))
        {
            return false;
        }

        if (t.Length >= 2 && char.IsAsciiLetter(t[^1]) && long.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? age = char.ToLowerInvariant(t[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (age is { } a)
            {
                since = now - a;
                return true;
            }

            return false;
        }

        return DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out since);
    }

    /// <summary>
    /// Writes every record at or after <paramref name="since"/> (all when null). With <paramref name="spreadsheetSafe"/>,
    /// CSV cells that a spreadsheet would run as a formula (starting with = + - @ tab or CR) get a leading apostrophe;
    /// off by default, since it changes the data. Returns the number of records written.
    /// </summary>
    public async Task<long> ExportAsync(TextWriter writer, AuditExportFormat format, DateTimeOffset? since, CancellationToken cancellationToken, bool spreadsheetSafe = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (format == AuditExportFormat.Csv)
        {
            await writer.WriteAsync(string.Join(',', Columns) + "\r\n");
        }

        long after = 0;
        long count = 0;
        while (true)
        {
            var page = await _store.ReadAuditAsync(after, since, _pageSize, cancellationToken);
            var states = new Dictionary<string, IReadOnlyList<DeliveryState>>(StringComparer.Ordinal);
            foreach (var record in page)
            {
                var outcome = await OutcomeAsync(record, states, cancellationToken);
                await writer.WriteAsync(format == AuditExportFormat.Csv ? CsvLine(record, outcome, spreadsheetSafe) : JsonLine(record, outcome));
                count++;
            }

            if (page.Count < _pageSize)
            {
                break;
            }

            after = page[^1].Sequence;
        }

        await writer.FlushAsync(cancellationToken);
        return count;
    }

    internal static string[] Fields(AuditRecord r, string? outcome = null)
    {
        var e = r.Entry;
        return
        [
            r.Sequence.ToString(CultureInfo.InvariantCulture), FormatTime(e.At), e.Kind, e.LinkId, e.EventKey, e.SourceNetwork, e.SourcePerson,
            e.Destination, e.Decision, e.RuleId, e.Label, e.ContentHash, e.Content ?? "", r.PreviousHash, r.Hash, r.KeyId, outcome ?? "",
        ];
    }

    /// <summary>The final outcome of a decision record (null for other kinds), from the outbox row the decision created.</summary>
    private async Task<string?> OutcomeAsync(AuditRecord record, Dictionary<string, IReadOnlyList<DeliveryState>> states, CancellationToken cancellationToken)
    {
        var e = record.Entry;
        if (e.Kind != "decision")
        {
            return null;
        }

        if (e.Decision == "blocked")
        {
            return "blocked";
        }

        // Event keys are NETWORK/NATIVE-ID; network ids have no slash, native ids may.
        var slash = e.EventKey.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return "unknown";
        }

        if (!states.TryGetValue(e.EventKey, out var rows))
        {
            rows = await _store.GetDeliveryStatesAsync(e.EventKey[..slash], e.EventKey[(slash + 1)..], cancellationToken);
            states[e.EventKey] = rows;
        }

        var row = rows.FirstOrDefault(r => r.LinkId == e.LinkId && r.Destination.ToString() == e.Destination);
        return row?.State switch
        {
            OutboxState.Pending => "pending",
            OutboxState.Delivered => "delivered",
            OutboxState.Skipped => DeliveryOutcomeAudit.Skipped,
            OutboxState.DeadLettered => DeliveryOutcomeAudit.DeadLettered,
            _ => "unknown",
        };
    }

    private static string FormatTime(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    private static string JsonLine(AuditRecord r, string? outcome)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            var fields = Fields(r, outcome);
            json.WriteStartObject();
            json.WriteNumber(Columns[0], r.Sequence);
            for (var i = 1; i < Columns.Length; i++)
            {
                if ((i == 12 && r.Entry.Content is null) || (i == StoredColumns && outcome is null))
                {
                    json.WriteNull(Columns[i]);
                }
                else
                {
                    json.WriteString(Columns[i], fields[i]);
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static string CsvLine(AuditRecord r, string? outcome, bool spreadsheetSafe)
    {
        var sb = new StringBuilder();
        var fields = Fields(r, outcome);
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            var value = fields[i];
            if (spreadsheetSafe && value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
            {
                value = "'" + value;
            }

            if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                sb.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                sb.Append(value);
            }
        }

        return sb.Append("\r\n").ToString();
    }
}
