namespace Sandbox.Matrix.Appservices;

/// <summary>One push of a transaction to an appservice, recorded so tests can check ids, bodies and retries.</summary>
public sealed record TransactionAttempt(string TxnId, string Path, int? Status, string Body, string? Error, DateTimeOffset At)
{
    public bool Succeeded => Status is >= 200 and < 300;
}
