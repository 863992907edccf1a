using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Matrix.Errors;
using Sandbox.Matrix.Hosting;

namespace Sandbox.Matrix.Appservices;

/// <summary>Homeserver-initiated calls toward an appservice: user and alias queries, and the ping.</summary>
internal sealed class AppserviceQueries(Homeserver homeserver)
{
    public Task<bool> QueryUserAsync(AppserviceRegistration reg, string userId, CancellationToken ct) =>
        QueryAsync(reg, "users", userId, ct);

    public Task<bool> QueryAliasAsync(AppserviceRegistration reg, string alias, CancellationToken ct) =>
        QueryAsync(reg, "rooms", alias, ct);

    private async Task<bool> QueryAsync(AppserviceRegistration reg, string kind, string id, CancellationToken ct)
    {
        if (reg.Url is null)
        {
            return false;
        }

        using var request = BuildRequest(reg, HttpMethod.Get, kind + "/" + Uri.EscapeDataString(id), homeserver.UseLegacyAppservicePaths);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(homeserver.Options.AppserviceRequestTimeout);
        try
        {
            using var response = await homeserver.AppserviceHttp.SendAsync(request, timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Implements <c>POST /_matrix/client/v1/appservice/{id}/ping</c>'s outcome mapping from the spec.</summary>
    public async Task<JsonObject> PingAsync(AppserviceRegistration reg, string? transactionId, CancellationToken ct)
    {
        if (reg.Url is null)
        {
            throw new MatrixException(400, ErrorCodes.UrlNotSet, "Application service has no URL configured");
        }

        using var request = BuildRequest(reg, HttpMethod.Post, "ping", legacy: false);
        var body = new JsonObject();
        if (transactionId is not null)
        {
            body["transaction_id"] = transactionId;
        }

        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(homeserver.Options.AppserviceRequestTimeout);
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await homeserver.AppserviceHttp.SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                throw new MatrixException(502, ErrorCodes.BadStatus, "Ping returned a non-2xx status",
                    new JsonObject { ["status"] = (int)response.StatusCode, ["body"] = text });
            }

            return new JsonObject { ["duration_ms"] = watch.ElapsedMilliseconds };
        }
        catch (HttpRequestException)
        {
            throw new MatrixException(502, ErrorCodes.ConnectionFailed, "Connection to application service failed");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new MatrixException(504, ErrorCodes.ConnectionTimeout, "Connection to application service timed out");
        }
    }

    private static HttpRequestMessage BuildRequest(AppserviceRegistration reg, HttpMethod method, string relative, bool legacy)
    {
        var baseUrl = reg.Url!.TrimEnd('/');
        if (legacy)
        {
            return new HttpRequestMessage(method, baseUrl + "/" + relative + "?access_token=" + Uri.EscapeDataString(reg.HsToken));
        }

        var request = new HttpRequestMessage(method, baseUrl + "/_matrix/app/v1/" + relative);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", reg.HsToken);
        return request;
    }
}
