using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sandbox.Mattermost.Http;
using Sandbox.Mattermost.Model;
using static Sandbox.Mattermost.Http.HttpPipeline;

namespace Sandbox.Mattermost.Api;

internal static class SystemEndpoints
{
    public static void Map(IEndpointRouteBuilder app, SandboxState state)
    {
        app.MapGet("/api/v4/system/ping", ctx => WriteJsonAsync(ctx, 200, new JsonObject
        {
            ["ActiveSearchBackend"] = "database",
            ["AndroidLatestVersion"] = "",
            ["AndroidMinVersion"] = "",
            ["IosLatestVersion"] = "",
            ["IosMinVersion"] = "",
            ["status"] = "OK",
        }));

        app.MapGet("/api/v4/config/client", ctx =>
        {
            if (ctx.Request.Query["format"] != "old")
            {
                throw new MmApiException(501, "api.config.client.old_format.app_error", "New format for the client configuration is not supported yet. Please specify format=old in the query string.");
            }
            var s = state.Settings;
            static string B(bool b) => b ? "true" : "false";
            // The server sends every value as a string.
            return WriteJsonAsync(ctx, 200, new JsonObject
            {
                ["Version"] = s.ServerVersion,
                ["BuildNumber"] = "12345",
                ["BuildHash"] = "sandbox",
                ["SiteName"] = "Mattermost",
                ["DiagnosticsEnabled"] = "false",
                ["MaxPostSize"] = s.MaxPostSize.ToString(CultureInfo.InvariantCulture),
                ["MaxFileSize"] = "104857600",
                ["EnablePostUsernameOverride"] = B(s.EnablePostUsernameOverride),
                ["EnablePostIconOverride"] = B(s.EnablePostIconOverride),
                ["EnableUserAccessTokens"] = B(s.EnableUserAccessTokens),
                ["EnableBotAccountCreation"] = B(s.EnableBotAccountCreation),
                ["EnableGuestAccounts"] = B(s.EnableGuestAccounts),
                ["ShowFullName"] = B(s.ShowFullName),
                ["EnableCustomEmoji"] = "false",
                ["EnableFileAttachments"] = "true",
                ["ExperimentalEnableHardenedMode"] = "false",
                ["PostEditTimeLimit"] = "-1",
                ["WebsocketURL"] = "",
                ["FeatureFlagCollapsedThreads"] = "true",
                ["CollapsedThreads"] = "always_on",
            });
        });
    }
}
