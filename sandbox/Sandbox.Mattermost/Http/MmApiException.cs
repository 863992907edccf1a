namespace Sandbox.Mattermost.Http;

/// <summary>An AppError: thrown by the sandbox's domain code and written as the server's JSON error body.</summary>
public sealed class MmApiException : Exception
{
    public MmApiException(int statusCode, string errorId, string message, string detailedError = "")
        : base(message)
    {
        StatusCode = statusCode;
        ErrorId = errorId;
        DetailedError = detailedError;
    }

    public MmApiException()
    {
        ErrorId = "";
        DetailedError = "";
    }

    public MmApiException(string message) : base(message)
    {
        ErrorId = "";
        DetailedError = "";
    }

    public MmApiException(string message, Exception innerException) : base(message, innerException)
    {
        ErrorId = "";
        DetailedError = "";
    }

    public int StatusCode { get; } = 500;
    public string ErrorId { get; }
    public string DetailedError { get; }

    internal static MmApiException Forbidden() =>
        new(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.");

    internal static MmApiException InvalidParam(string name) =>
        new(400, "api.context.invalid_param.app_error", $"Invalid {name} parameter.");

    /// <summary>What the server's Require* checks answer for a malformed path segment (RequireEmojiName, ...).</summary>
    internal static MmApiException InvalidUrlParam(string name) =>
        new(400, "api.context.invalid_url_param.app_error", $"Invalid or missing {name} parameter in request URL.");

    internal static MmApiException InvalidBodyParam(string name) =>
        new(400, "api.context.invalid_body_param.app_error", $"Invalid or missing {name} in request body.");

    internal static MmApiException NotFound(string what) =>
        new(404, "app." + what + ".get.app_error", $"Unable to find the existing {what}.");

    internal static MmApiException SessionExpired() =>
        new(401, "api.context.session_expired.app_error", "Invalid or expired session, please login again.");
}
