using System.Text.Json.Nodes;

namespace Sandbox.Matrix.Errors;

/// <summary>A Matrix error response (<c>{"errcode","error"}</c>) raised from endpoint logic and written by <see cref="ErrorMiddleware"/>.</summary>
public sealed class MatrixException : Exception
{
    public MatrixException() : this(500, ErrorCodes.Unknown, "Internal error") { }

    public MatrixException(string message) : this(500, ErrorCodes.Unknown, message) { }

    public MatrixException(string message, Exception inner) : base(message, inner)
    {
        Status = 500;
        ErrCode = ErrorCodes.Unknown;
    }

    public MatrixException(int status, string errCode, string message, JsonObject? extra = null) : base(message)
    {
        Status = status;
        ErrCode = errCode;
        Extra = extra;
    }

    public int Status { get; }

    public string ErrCode { get; }

    /// <summary>Additional top-level fields of the error body (e.g. <c>retry_after_ms</c>).</summary>
    public JsonObject? Extra { get; }

    /// <summary>Extra response headers (e.g. <c>Retry-After</c>).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public JsonObject ToBody()
    {
        // An empty errcode marks a non-error 401 such as the user-interactive-auth flow listing.
        var body = ErrCode.Length == 0 ? new JsonObject() : new JsonObject { ["errcode"] = ErrCode, ["error"] = Message };
        if (Extra is not null)
        {
            foreach (var (key, value) in Extra)
            {
                body[key] = value?.DeepClone();
            }
        }

        return body;
    }

    public static MatrixException Forbidden(string message) => new(403, ErrorCodes.Forbidden, message);

    public static MatrixException NotFound(string message) => new(404, ErrorCodes.NotFound, message);

    public static MatrixException BadJson(string message) => new(400, ErrorCodes.BadJson, message);

    public static MatrixException NotJson(string message) => new(400, ErrorCodes.NotJson, message);

    public static MatrixException MissingParam(string message) => new(400, ErrorCodes.MissingParam, message);
}
