using System.Reflection;
using Bridge.Core.Policy;
using Bridge.Core.Storage;
using Bridge.Core.Storage.Health;
using Bridge.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bridge.Tests.Core;

/// <summary>A store that refuses writes (disk full, a database server's error): nothing is acknowledged, nothing doubled.</summary>
public sealed class StoreFailureTests
{
    [Fact]
    public async Task A_delivery_the_store_could_not_record_is_recorded_later_and_never_delivered_again()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        for (var i = 0; i < 3; i++)
        {
            await h.Router.IngestAsync(CoreHarness.Message("a", "room", $"m{i}", $"text {i}"), default);
        }

        var full = true;
        var store = RefusingStore.Wrap(h.Store, method => full && method == nameof(IBridgeStore.MarkDeliveredAsync));
        var worker = new Bridge.Core.Delivery.NetworkDeliveryWorker(h.Connectors["b"], store, h.Signals, new Bridge.Core.Delivery.DeliveryOptions(),
            NullLogger.Instance, TimeProvider.System);

        await Assert.ThrowsAsync<SqliteException>(() => worker.RunOnceAsync(default));
        await Assert.ThrowsAsync<SqliteException>(() => worker.RunOnceAsync(default));
        await Assert.ThrowsAsync<SqliteException>(() => worker.RunOnceAsync(default));
        Assert.Equal(["text 0"], h.Connectors["b"].Attempts.Select(a => a.Event.Text));

        full = false;
        while (await worker.RunOnceAsync(default))
        {
        }

        Assert.Equal(["text 0", "text 1", "text 2"], h.Connectors["b"].Attempts.Select(a => a.Event.Text));
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));
    }

    [Fact]
    public async Task An_ingest_the_store_refuses_is_not_accepted_and_health_names_the_cause_until_a_write_succeeds()
    {
        await using var h = new CoreHarness(CoreHarness.TwoNetworks());
        await h.Store.MigrateAsync(default);
        var full = true;
        var health = new StoreHealth(NullLogger<StoreHealth>.Instance);
        var store = new HealthReportingStore(RefusingStore.Wrap(h.Store, method => full && method == nameof(IBridgeStore.IngestAsync)), health);
        var router = new Bridge.Core.Routing.BridgeRouter(store, h.Topology, new AllowAllPolicy(), h.Signals, h.Registry, new Bridge.Core.Routing.AuditOptions(),
            NullLogger<Bridge.Core.Routing.BridgeRouter>.Instance);

        await Assert.ThrowsAsync<SqliteException>(() => router.IngestAsync(CoreHarness.Message("a", "room", "m0", "held"), default));
        Assert.Equal("store: disk full", health.Problem);
        Assert.Equal(0, await h.Store.CountPendingAsync("b", default));

        full = false;
        Assert.Equal(Bridge.Core.Connectors.IngestOutcome.Accepted, await router.IngestAsync(CoreHarness.Message("a", "room", "m0", "held"), default));
        Assert.Null(health.Problem);
        Assert.Equal(1, await h.Store.CountPendingAsync("b", default));
    }

    [Fact]
    public void Disk_full_is_named_for_both_stores_and_other_errors_by_kind()
    {
        Assert.Equal("store: disk full", StoreHealth.Describe(new SqliteException("database or disk is full", 13)));
        Assert.Equal("store: disk full", StoreHealth.Describe(new Npgsql.PostgresException("could not extend file", "ERROR", "ERROR", "53100")));
        Assert.Equal("store: write failed (postgres 57P01)", StoreHealth.Describe(new Npgsql.PostgresException("terminating", "FATAL", "FATAL", "57P01")));
        Assert.Equal("store: write failed (sqlite error 8)", StoreHealth.Describe(new SqliteException("readonly", 8)));
    }

    /// <summary>Passes every call to the real store except the chosen writes, which fail as SQLite does on a full disk.</summary>
#pragma warning disable CA1852 // DispatchProxy derives from it at run time: it must not be sealed
    internal class RefusingStore : DispatchProxy
#pragma warning restore CA1852
    {
        private IBridgeStore _inner = null!;
        private Func<string, bool> _refuse = null!;

        public static IBridgeStore Wrap(IBridgeStore inner, Func<string, bool> refuse)
        {
            var proxy = Create<IBridgeStore, RefusingStore>();
            var self = (RefusingStore)(object)proxy;
            self._inner = inner;
            self._refuse = refuse;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (_refuse(targetMethod.Name))
            {
                var error = new SqliteException("SQLite Error 13: 'database or disk is full'.", 13);
                return targetMethod.ReturnType == typeof(Task) ? Task.FromException(error) :
                    typeof(Task<bool>) == targetMethod.ReturnType ? Task.FromException<bool>(error) : throw error;
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }
    }
}
