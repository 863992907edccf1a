using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sandbox.Matrix.Hosting;

namespace Sandbox.Matrix.Appservices;

/// <summary>
/// Pushes events to one appservice the way the spec asks: batched transactions with increasing ids, one in flight,
/// retried with exponential backoff with the same id and the same body until a 2xx arrives.
/// The queue and the in-flight transaction survive a sandbox restart; only the sending loop stops.
/// </summary>
internal sealed class AppservicePusher(Homeserver homeserver, AppserviceRegistration registration, ILogger<AppservicePusher> logger)
{
    private static readonly EventId PushFailed = new(10, "TransactionPushFailed");
    private readonly object _gate = new();
    private readonly Queue<JsonObject> _queue = new();
    private readonly Queue<JsonObject> _ephemeral = new();
    private readonly List<TransactionAttempt> _attempts = [];
    private readonly SemaphoreSlim _signal = new(0);
    private (string TxnId, byte[] Body)? _inFlight;
    private long _nextTxnId = 1;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private bool _held;

    public AppserviceRegistration Registration { get; } = registration;

    public IReadOnlyList<TransactionAttempt> Attempts
    {
        get
        {
            lock (_gate)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>Events queued or in flight (not yet acknowledged by the appservice).</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count + _ephemeral.Count + (_inFlight is null ? 0 : 1);
            }
        }
    }

    public void Enqueue(JsonObject ev)
    {
        lock (_gate)
        {
            _queue.Enqueue(ev);
        }

        _signal.Release();
    }

    /// <summary>An ephemeral event (m.typing with its room_id); only queued for registrations that asked for them.</summary>
    public void EnqueueEphemeral(JsonObject ev)
    {
        if (!Registration.ReceiveEphemeral && !Registration.ReceiveEphemeralUnstable)
        {
            return;
        }

        lock (_gate)
        {
            _ephemeral.Enqueue(ev);
        }

        _signal.Release();
    }

    /// <summary>
    /// While held, no new transaction starts (one in flight finishes): events queue as on a homeserver whose push to the
    /// appservice lags behind what its clients already see.
    /// </summary>
    public void Hold(bool held)
    {
        lock (_gate)
        {
            _held = held;
        }

        _signal.Release();
    }

    public void Start()
    {
        _stop = new CancellationTokenSource();
        var token = _stop.Token;
        _loop = Task.Run(() => RunAsync(token), CancellationToken.None);
    }

    public async Task StopAsync()
    {
        if (_stop is null || _loop is null)
        {
            return;
        }

        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // Expected on stop.
        }

        _stop.Dispose();
        _stop = null;
        _loop = null;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var delay = homeserver.Options.TransactionRetryMin;
        while (!ct.IsCancellationRequested)
        {
            (string TxnId, byte[] Body)? txn;
            lock (_gate)
            {
                if (_inFlight is null && !_held && (_queue.Count > 0 || _ephemeral.Count > 0))
                {
                    var events = new JsonArray();
                    while (_queue.Count > 0 && events.Count < homeserver.Options.MaxEventsPerTransaction)
                    {
                        events.Add(_queue.Dequeue());
                    }

                    var ephemeral = new JsonArray();
                    while (_ephemeral.Count > 0 && ephemeral.Count < homeserver.Options.MaxEventsPerTransaction)
                    {
                        ephemeral.Add(_ephemeral.Dequeue());
                    }

                    // Ephemeral data only for a registration that asked for it (spec: receive_ephemeral), under the key
                    // it asked with: the stable key, Synapse's unstable one, or both.
                    var body = new JsonObject { ["events"] = events };
                    if (Registration.ReceiveEphemeral)
                    {
                        body["ephemeral"] = ephemeral.DeepClone();
                    }

                    if (Registration.ReceiveEphemeralUnstable)
                    {
                        body["de.sorunome.msc2409.ephemeral"] = ephemeral.DeepClone();
                    }

                    _inFlight = (_nextTxnId++.ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetBytes(body.ToJsonString()));
                }

                txn = _inFlight;
            }

            if (txn is not { } current)
            {
                await _signal.WaitAsync(ct);
                continue;
            }

            if (Registration.Url is null)
            {
                // An appservice without a URL receives nothing, as on real homeservers.
                lock (_gate)
                {
                    _inFlight = null;
                }

                continue;
            }

            if (await TrySendAsync(current.TxnId, current.Body, ct))
            {
                lock (_gate)
                {
                    _inFlight = null;
                }

                delay = homeserver.Options.TransactionRetryMin;
            }
            else
            {
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, homeserver.Options.TransactionRetryMax.Ticks));
            }
        }
    }

    private async Task<bool> TrySendAsync(string txnId, byte[] body, CancellationToken ct)
    {
        var legacy = homeserver.UseLegacyAppservicePaths;
        var baseUrl = Registration.Url!.TrimEnd('/');
        var path = legacy
            ? "/transactions/" + Uri.EscapeDataString(txnId) + "?access_token=" + Uri.EscapeDataString(Registration.HsToken)
            : "/_matrix/app/v1/transactions/" + Uri.EscapeDataString(txnId);
        using var request = new HttpRequestMessage(HttpMethod.Put, baseUrl + path);
        if (!legacy)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Registration.HsToken);
        }

        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(homeserver.Options.AppserviceRequestTimeout);
        int? status = null;
        string? error = null;
        try
        {
            using var response = await homeserver.AppserviceHttp.SendAsync(request, timeout.Token);
            status = (int)response.StatusCode;
        }
        catch (HttpRequestException ex)
        {
            error = ex.Message;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            error = "timeout";
        }

        var recordedPath = legacy ? path[..path.IndexOf('?', StringComparison.Ordinal)] + "?access_token=…" : path;
        lock (_gate)
        {
            _attempts.Add(new TransactionAttempt(txnId, recordedPath, status, Encoding.UTF8.GetString(body), error, DateTimeOffset.UtcNow));
        }

        var ok = status is >= 200 and < 300;
        if (!ok)
        {
            logger.LogWarning(PushFailed, "Transaction {TxnId} to appservice {Id} failed: {Status} {Error}", txnId, Registration.Id, status, error);
        }

        return ok;
    }
}
