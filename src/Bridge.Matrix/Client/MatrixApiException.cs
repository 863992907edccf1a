using System.Net;

namespace Bridge.Matrix.Client;

/// <summary>A Matrix error response (<c>{"errcode","error"}</c>), with the retry delay of <c>M_LIMIT_EXCEEDED</c>.</summary>
public sealed class MatrixApiException : Exception
{
    public MatrixApiException() : this(HttpStatusCode.InternalServerError, "M_UNKNOWN", "unknown error") { }

    public MatrixApiException(string message) : this(HttpStatusCode.InternalServerError, "M_UNKNOWN", message) { }

    public MatrixApiException(string message, Exception inner) : base(message, inner) => ErrCode = "M_UNKNOWN";

    public MatrixApiException(HttpStatusCode status, string errCode, string message, TimeSpan? retryAfter = null)
        : base($"{(int)status} {errCode}: {message}")
    {
        Status = status;
        ErrCode = errCode;
        RetryAfter = retryAfter;
    }

    public HttpStatusCode Status { get; }

    public string ErrCode { get; }

    /// <summary>From <c>retry_after_ms</c> or the <c>Retry-After</c> header, for 429 responses.</summary>
    public TimeSpan? RetryAfter { get; }

    public bool IsRateLimited => Status == HttpStatusCode.TooManyRequests || ErrCode == "M_LIMIT_EXCEEDED";

    /// <summary>Server-side trouble worth retrying (5xx, or a gateway between us and the homeserver).</summary>
    public bool IsTransient => (int)Status >= 500 || Status == HttpStatusCode.RequestTimeout;
}
