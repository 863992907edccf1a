using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Bridge.Core.Storage.Health;

/// <summary>
/// Whether the store can take writes. A failed write (disk full, a database server that refuses) makes the bridge
/// unhealthy with a short reason until the next write succeeds; the change is logged once each way, not per write.
/// Nothing is acknowledged upstream while writes fail, because ingest returns only after the write committed.
/// </summary>
public sealed class StoreHealth
{
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private string? _problem;

    public StoreHealth(ILogger<StoreHealth> logger)
    {
        _logger = logger;
    }

    /// <summary>Why writes fail now ("store: disk full"), or null when the last write succeeded.</summary>
    public string? Problem
    {
        get
        {
            lock (_gate)
            {
                return _problem;
            }
        }
    }

    public void WriteFailed(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var reason = Describe(exception);
        lock (_gate)
        {
            if (_problem == reason)
            {
                return;
            }

            _problem = reason;
        }

        _logger.LogError(StoreHealthLog.WritesFailing, exception,
            "{Reason}: nothing new is acknowledged to the networks until a write succeeds again; what waits is kept by the networks and delivered then", reason);
    }

    public void WriteSucceeded()
    {
        string? was;
        lock (_gate)
        {
            was = _problem;
            if (was is null)
            {
                return;
            }

            _problem = null;
        }

        _logger.LogWarning(StoreHealthLog.WritesRecovered, "Store writable again after '{Reason}': acknowledging and delivering what waited", was);
    }

    /// <summary>A short reason for /healthz. Disk full is named as such on both stores; anything else by its kind.</summary>
    public static string Describe(Exception exception) => IsDiskFull(exception) ? "store: disk full" : "store: write failed (" + Kind(exception) + ")";

    /// <summary>
    /// True when <paramref name="exception"/> came from the store (a database error, a full disk). The store already
    /// reported it once at error level, so a connector that holds and retries logs it quietly.
    /// </summary>
    public static bool IsStoreFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException || IsDiskFull(e))
            {
                return true;
            }
        }

        return false;
    }

    public static bool IsDiskFull(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SqliteException { SqliteErrorCode: 13 }: // SQLITE_FULL
                case PostgresException { SqlState: "53100" }: // disk_full
                    return true;
                case IOException io when (io.HResult & 0xFFFF) == 28: // ENOSPC
                    return true;
            }
        }

        return false;
    }

    private static string Kind(Exception exception) => exception switch
    {
        SqliteException s => "sqlite error " + s.SqliteErrorCode,
        PostgresException p => "postgres " + p.SqlState,
        NpgsqlException => "postgres unreachable",
        DbException => "database error",
        _ => exception.GetType().Name,
    };
}

internal static class StoreHealthLog
{
    public static readonly EventId WritesFailing = new(1010, nameof(WritesFailing));
    public static readonly EventId WritesRecovered = new(1011, nameof(WritesRecovered));
}
