using System.CommandLine;
using Bridge.Core.Audit;
using Bridge.Core.Storage;
using Bridge.Host.Composition;
using Bridge.Host.Configuration;
using Microsoft.Extensions.Configuration;
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
        var allowUnkeyed = new Option<bool>("--allow-unkeyed") { Description = "with an audit key configured, accept a trail that has no keyed record (only for a store that was never keyed)" };
        var command = new Command("verify", "check the audit trail's hash chain (and MACs, with audit:key); exits non-zero naming the first broken record");
        command.Options.Add(config);
        command.Options.Add(head);
        command.Options.Add(allowUnkeyed);
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

            var file = parse.GetValue(config)!;
            var keys = LoadAuditKeys(file, err);
            if (keys is null)
            {
                return 1;
            }

            await using var store = await OpenStoreAsync(file, err, ct);
            if (store is null)
            {
                return 1;
            }

            var report = await new AuditVerifier(store, keys: keys).VerifyAsync(ct, expected, parse.GetValue(allowUnkeyed));
            if (report.Ok && report.UnverifiedKeyed > 0)
            {
                // Fail closed: the links between records hold, but whoever can write the table could have rewritten them.
                await err.WriteLineAsync(
                    $"WARNING: the audit trail is keyed (from record {report.KeyedFrom}) but no audit key is configured (audit:key or audit:keyFile): " +
                    $"the MACs of {report.UnverifiedKeyed} records were NOT checked, so a rewrite of the trail would go undetected. Verify with the key.");
                return 5;
            }

            if (report.Ok)
            {
                var mode = report.KeyedFrom is { } from ? $", keyed from record {from}" : keys.HasKeys ? "" : ", plain hash chain (no audit key)";
                await parse.InvocationConfiguration.Output.WriteLineAsync($"audit trail ok: {report.Verification.RecordsChecked} records{mode}, head {report.Head}");
                return 0;
            }

            await err.WriteLineAsync($"audit trail BROKEN at record {report.Verification.FirstBrokenSequence}: {report.Verification.Problem}");
            return 4;
        });
        return command;
    }

    /// <summary>The audit keys of the configuration file (null after printing errors). Never prints a key.</summary>
    private static AuditKeyRing? LoadAuditKeys(FileInfo file, TextWriter err)
    {
        IConfigurationRoot root;
        try
        {
            root = BridgeConfiguration.Load(file.FullName, reloadOnChange: false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or FormatException or InvalidDataException or IOException)
        {
            // OpenStoreAsync reports the same file problem with its details.
            return AuditKeyRing.None;
        }

        try
        {
            var errors = new List<Bridge.Core.Connectors.ConfigError>();
            var keys = SettingsReader.ReadAuditKeys(root, errors);
            if (errors.Count > 0)
            {
                ConfigLoading.Print(err, file, errors);
                return null;
            }

            return keys;
        }
        finally
        {
            (root as IDisposable)?.Dispose();
        }
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
