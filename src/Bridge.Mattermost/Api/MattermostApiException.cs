using System.Net;

namespace Bridge.Mattermost.Api;

/// <summary>A non-2xx answer from the server, with the AppError id when there was one.</summary>
public sealed class MattermostApiException : Exception
{
    public MattermostApiException(HttpStatusCode status, string errorId, string message, TimeSpan? retryAfter = null)
        : base($"{(int)status} {errorId}: {message}")
    {
        Status = status;
        ErrorId = errorId;
        ServerMessage = message;
        RetryAfter = retryAfter;
    }

    public MattermostApiException()
    {
        ErrorId = "";
        ServerMessage = "";
    }

    public MattermostApiException(string message) : base(message)
    {
        ErrorId = "";
        ServerMessage = message;
    }

    public MattermostApiException(string message, Exception innerException) : base(message, innerException)
    {
        ErrorId = "";
        ServerMessage = message;
    }

    public HttpStatusCode Status { get; }
    public string ErrorId { get; }
    public string ServerMessage { get; }

    /// <summary>For 429: how long the server asked us to wait (Retry-After, else X-RateLimit-Reset).</summary>
    public TimeSpan? RetryAfter { get; }

    public bool IsTransient => Status == HttpStatusCode.TooManyRequests || (int)Status >= 500 && Status != HttpStatusCode.NotImplemented;
}
