using System.Collections.Concurrent;
using Bridge.Core.Connectors;
using Bridge.Core.Model;

namespace Bridge.Tests.Support;

/// <summary>A connector that records deliveries; a test decides what each delivery returns.</summary>
internal sealed class FakeConnector(string networkId, NetworkKind kind = NetworkKind.Xmpp) : INetworkConnector, IRunDelivery
{
    private int _nextId;

    public string NetworkId { get; } = networkId;
    public NetworkKind Kind { get; } = kind;
    public bool IsReady { get; set; } = true;

    public bool JoinsChannelsLive => true;

    /// <summary>What the fake network declares it can show (the core degrades the rest).</summary>
    public Bridge.Core.Connectors.Capabilities.NetworkCapabilities Capabilities { get; set; } = new();

    /// <summary>Which reaction keys the fake network can show; every non-empty key by default.</summary>
    public Func<string, bool> ReactionKeys { get; set; } = key => key.Length > 0;

    public bool CanShowReaction(string key) => ReactionKeys(key);

    /// <summary>Every run-time room change the core asked for: (joined, left).</summary>
    public ConcurrentQueue<(string[] Added, string[] Removed)> ChannelChanges { get; } = new();

    /// <summary>Why the server refuses the bridge in a channel (null: joins); throwing stands for a network that cannot be asked.</summary>
    public Func<string, string?> JoinRefusal { get; set; } = _ => null;

    /// <summary>Channels joined ahead of a link change.</summary>
    public ConcurrentQueue<string> JoinedBeforeLinking { get; } = new();

    public Task<string?> JoinBeforeLinkingAsync(string channelId, CancellationToken cancellationToken)
    {
        var refusal = JoinRefusal(channelId);
        if (refusal is null)
        {
            JoinedBeforeLinking.Enqueue(channelId);
        }

        return Task.FromResult(refusal);
    }

    public Task ChannelsChangedAsync(IReadOnlyCollection<string> added, IReadOnlyCollection<string> removed, CancellationToken cancellationToken)
    {
        ChannelChanges.Enqueue(([.. added], [.. removed]));
        return Task.CompletedTask;
    }
    public ConcurrentQueue<DeliveryRequest> Delivered { get; } = new();
    public ConcurrentQueue<DeliveryRequest> Attempts { get; } = new();
    public ConcurrentQueue<(ChannelRef Channel, PersonRef Person, string Notice)> Notices { get; } = new();

    /// <summary>Decides the result of each attempt; default delivers.</summary>
    public Func<DeliveryRequest, DeliveryResult?> Behaviour { get; set; } = _ => null;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        Attempts.Enqueue(request);
        var result = Behaviour(request);
        if (result is null)
        {
            Delivered.Enqueue(request);
            result = DeliveryResult.Ok($"{NetworkId}-native-{Interlocked.Increment(ref _nextId)}");
        }

        return Task.FromResult(result);
    }

    /// <summary>Longest run the core may hand over; 1 (the default) keeps every delivery on its own.</summary>
    public int MaxRun { get; set; } = 1;

    public int MaxRunInto(string channelId) => MaxRun;

    /// <summary>Every run the core handed over, as handed.</summary>
    public ConcurrentQueue<IReadOnlyList<DeliveryRequest>> Runs { get; } = new();

    /// <summary>How many rows of a run the fake network answers (the rest are not sent); all by default.</summary>
    public Func<IReadOnlyList<DeliveryRequest>, int> RunAnswered { get; set; } = run => run.Count;

    /// <summary>Thrown by every run (a connector failing as a whole); null runs normally.</summary>
    public Exception? RunFailure { get; set; }

    public async Task<IReadOnlyList<DeliveryResult>> DeliverRunAsync(IReadOnlyList<DeliveryRequest> run, CancellationToken cancellationToken)
    {
        Runs.Enqueue(run);
        if (RunFailure is { } failure)
        {
            throw failure;
        }

        var results = new List<DeliveryResult>();
        foreach (var request in run.Take(RunAnswered(run)))
        {
            results.Add(await DeliverAsync(request, cancellationToken));
        }

        return results;
    }

    public Task NotifySenderAsync(ChannelRef channel, PersonRef person, string notice, CancellationToken cancellationToken)
    {
        Notices.Enqueue((channel, person, notice));
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
