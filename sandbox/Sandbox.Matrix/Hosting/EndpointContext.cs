using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Sandbox.Matrix.Errors;

namespace Sandbox.Matrix.Hosting;

/// <summary>Small helpers shared by the endpoint maps.</summary>
internal static class EndpointContext
{
    /// <summary>Both the current and the r0 client prefix are served, as homeservers still accept r0.</summary>
    public static readonly string[] ClientPrefixes = ["/_matrix/client/v3", "/_matrix/client/r0"];

    public static Homeserver Hs(this HttpContext context) => context.RequestServices.GetRequiredService<Homeserver>();

    public static long? QueryLong(this HttpRequest request, string name)
    {
        var raw = request.Query[name].ToString();
        if (raw.Length == 0)
        {
            return null;
        }

        return long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new MatrixException(400, ErrorCodes.InvalidParam, $"Query parameter '{name}' must be an integer");
    }
}
