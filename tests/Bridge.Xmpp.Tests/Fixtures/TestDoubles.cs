using System.Collections.Concurrent;
using Bridge.Core.Connectors;
using Bridge.Core.Model;
using Microsoft.Extensions.Logging;

namespace Bridge.Xmpp.Tests.Fixtures;

/// <summary>Records what a connector ingests; dedupes by native id like the core does (so tests see the core's view).</summary>
public sealed class RecordingSink : IEventSink
{
    private readonly ConcurrentQueue<BridgeEvent> _all = new();
    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);

    /// <summary>Every event handed in, duplicates included.</summary>
    public IReadOnlyList<BridgeEvent> All => _all.ToList();

    /// <summary>Events accepted (first time their native id was seen).</summary>
    public IReadOnlyList<BridgeEvent> Accepted => _all.Where(e => _firstSeen.ContainsKey(e)).ToList();

    private readonly ConcurrentDictionary<BridgeEvent, bool> _firstSeen = new(ReferenceEqualityComparer.Instance);

    private readonly ConcurrentQueue<int> _handOvers = new();

    public Func<BridgeEvent, Exception?>? FailWith { get; set; }

    /// <summary>While set, every hand-over waits for it (so a test can let messages queue up behind one).</summary>
    public Task? Hold { get; set; }

    /// <summary>How many events each hand-over carried, in order (1 for <see cref="IngestAsync"/>).</summary>
    public IReadOnlyList<int> HandOvers => _handOvers.ToList();

    public async Task<IngestOutcome> IngestAsync(BridgeEvent bridgeEvent, CancellationToken cancellationToken)
    {
        if (Hold is { } hold)
        {
            await hold;
        }

        if (FailWith?.Invoke(bridgeEvent) is { } failure)
        {
            throw failure;
        }

        _handOvers.Enqueue(1);
        return Record(bridgeEvent);
    }

    /// <summary>All or nothing, as the core's one transaction: a failure for any event stores none of them.</summary>
    public async Task<IReadOnlyList<IngestOutcome>> IngestBatchAsync(IReadOnlyList<BridgeEvent> events, CancellationToken cancellationToken)
    {
        if (Hold is { } hold)
        {
            await hold;
        }

        foreach (var e in events)
        {
            if (FailWith?.Invoke(e) is { } failure)
            {
                throw failure;
            }
        }

        _handOvers.Enqueue(events.Count);
        return [.. events.Select(Record)];
    }

    private IngestOutcome Record(BridgeEvent bridgeEvent)
    {
        _all.Enqueue(bridgeEvent);
        if (_seen.TryAdd($"{bridgeEvent.NetworkId}/{bridgeEvent.NativeId}", true))
        {
            _firstSeen[bridgeEvent] = true;
            return IngestOutcome.Accepted;
        }

        return IngestOutcome.Duplicate;
    }

    public async Task<IReadOnlyList<BridgeEvent>> WaitForAsync(Func<BridgeEvent, bool> predicate, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var matching = All.Where(predicate).ToList();
            if (matching.Count >= count)
            {
                return matching;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{matching.Count} of {count} expected events after {timeout}; got: {string.Join(" | ", All.Select(e => $"{e.Sender.DisplayName}: {e.Text}"))}");
            }

            await Task.Delay(25);
        }
    }
}

public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>Keeps every log entry so tests can assert that a rejection was logged.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToList();

    public ILogger CreateLogger(string categoryName) => new ListLogger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class ListLogger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
