using System.CommandLine;
using Bridge.Core.Audit;
using Bridge.Core.Storage;
using Bridge.Host.Composition;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Host.Cli;

/// <summary><c>bridge audit export|verify</c>: read the audit trail of the configured store.</summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var audit = new Command("audit", "export or verify the tamper-evident audit trail");
        audit.Subcommands.Add(Export());
        audit.Subcommands.Add(Verify());
        return audit;
    }

    private static Command Export()
    {
        var config = BridgeCli.ConfigOption();
        var since = new Option<string?>("--since") { Description = "only records at or after this time: ISO 8601 (2026-11-01T00:00Z) or an age (24h, 7d)" };
        var format = new Option<string>("--format") { Description = "jsonl or csv", DefaultValueFactory = _ => "jsonl" };
        var output = new Option<FileInfo?>("--out") { Description = "write to this file instead of standard output" };
        var command = new Command("export", "write audit records as JSON lines or CSV");
        command.Options.Add(config);
        command.Options.Add(since);
        command.Options.Add(format);
        command.Options.Add(output);
        command.SetAction(async (parse, ct) =>
        {
            var err = parse.InvocationConfiguration.Error;
            if (!AuditExporter.TryParseFormat(parse.GetValue(format), out var fmt))
            {
                await err.WriteLineAsync($"error: --format '{parse.GetValue(format)}' is not jsonl or csv");
                return 1;
            }

            DateTimeOffset? from = null;
            var sinceText = parse.GetValue(since);
            if (sinceText is not null)
            {
                if (!AuditExporter.TryParseSince(sinceText, DateTimeOffset.UtcNow, out var parsed))
                {
                    await err.WriteLineAsync($"error: --since '{sinceText}' is not a time (2026-11-01T00:00Z) or an age (24h, 7d)");
                    return 1;
                }

                from = parsed;
            }

            await using var store = await OpenStoreAsync(parse.GetValue(config)!, err, ct);
            if (store is null)
            {
                return 1;
            }

            var file = parse.GetValue(output);
            await using var writer = file is null ? null : new StreamWriter(file.FullName);
            var count = await new AuditExporter(store).ExportAsync(writer ?? parse.InvocationConfiguration.Output, fmt, from, ct, spreadsheetSafe: fmt == AuditExportFormat.Csv);
            await err.WriteLineAsync($"exported {count} audit records");
            return 0;
        });
        return command;
    }

    private static Command Verify()
    {
        var config = BridgeCli.ConfigOption();
        var head = new Option<string?>("--head") { Description = "the SEQ:HASH an earlier verify printed: also detects records cut off the end" };
        var command = new Command("verify", "check the audit trail's hash chain; exits non-zero naming the first broken record");
        command.Options.Add(config);
        command.Options.Add(head);
        command.SetAction(async (parse, ct) =>
        {
            var err = parse.InvocationConfiguration.Error;
            (long, string)? expected = null;
            var headText = parse.GetValue(head);
            if (headText is not null)
            {
                if (!AuditVerifier.TryParseHead(headText, out var h))
                {
                    await err.WriteLineAsync($"error: --head '{headText}' is not SEQ:HASH");
                    return 1;
                }

                expected = h;
            }

            await using var store = await OpenStoreAsync(parse.GetValue(config)!, err, ct);
            if (store is null)
            {
                return 1;
            }

            var report = await new AuditVerifier(store).VerifyAsync(ct, expected);
            if (report.Ok)
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync($"audit trail ok: {report.Verification.RecordsChecked} records, head {report.Head}");
                return 0;
            }

            await err.WriteLineAsync($"audit trail BROKEN at record {report.Verification.FirstBrokenSequence}: {report.Verification.Problem}");
            return 4;
        });
        return command;
    }

    private static async Task<IBridgeStore?> OpenStoreAsync(FileInfo file, TextWriter err, CancellationToken cancellationToken)
    {
        // Only the database section: the trail must stay readable when the rest of the file is broken.
        var database = ConfigLoading.LoadDatabase(file, err);
        if (database is null)
        {
            return null;
        }

        var store = StoreFactory.Create(database, NullLoggerFactory.Instance);
        await store.MigrateAsync(cancellationToken);
        return store;
    }
}
