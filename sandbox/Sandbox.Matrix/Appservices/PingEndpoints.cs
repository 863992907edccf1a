using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Hosting;
using Sandbox.Matrix.Http;

namespace Sandbox.Matrix.Appservices;

/// <summary><c>POST /_matrix/client/v1/appservice/{appserviceId}/ping</c> (spec v1.7); absent in legacy mode like older servers.</summary>
internal static class PingEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/_matrix/client/v1/appservice/{appserviceId}/ping", async (HttpContext ctx, string appserviceId) =>
        {
            var hs = ctx.Hs();
            if (hs.UseLegacyAppservicePaths)
            {
                throw new MatrixException(404, ErrorCodes.Unrecognized, "Unrecognized request");
            }

            var token = Homeserver.ReadAccessToken(ctx.Request) ?? throw new MatrixException(401, ErrorCodes.MissingToken, "Missing access token");
            var reg = hs.AppserviceByToken(token);
            if (reg is null)
            {
                // A valid user token is not an appservice token; an unknown token is unknown.
                hs.Authenticate(ctx.Request, rateLimited: false);
                throw MatrixException.Forbidden("Only application services can use this endpoint");
            }

            if (reg.Id != appserviceId)
            {
                throw MatrixException.Forbidden("Provided token is not for this application service");
            }

            var body = await JsonBody.ReadObjectAsync(ctx.Request, allowEmpty: true);
            return JsonBody.Ok(await hs.Queries.PingAsync(reg, JsonBody.OptString(body, "transaction_id"), ctx.RequestAborted));
        });
    }
}
