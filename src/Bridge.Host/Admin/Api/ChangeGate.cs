using Bridge.Core.Links;
using Bridge.Host.Admin.Access;
using Bridge.Host.Composition;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bridge.Host.Admin.Api;

/// <summary>
/// Runs one change request: only on the instance that delivers (a standby's change would not reach the running links)
/// and once the bridge has started; maps a refused change to its 4xx with the field at fault; logs each outcome.
/// </summary>
internal sealed class ChangeGate(InstanceRole role, IHostApplicationLifetime lifetime, ILogger logger)
{
    public async Task<IResult> RunAsync(HttpContext context, Func<string, CancellationToken, Task<IResult>> change)
    {
        var target = $"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}";
        var kind = role.Current.Kind;
        if (kind is not (InstanceRoleKind.Active or InstanceRoleKind.Single))
        {
            return ApiError.Result(503, $"this instance is {kind.ToString().ToLowerInvariant()}: send changes to the active instance");
        }

        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return ApiError.Result(503, "the bridge is starting: try again shortly");
        }

        var caller = AdminAccess.CallerOf(context);
        try
        {
            var result = await change(caller.Name, context.RequestAborted);
            logger.LogInformation(AdminLog.Changed, "Admin change {Target} by {Token} done", target, caller.Name);
            return result;
        }
        catch (LinkChangeException ex)
        {
            logger.LogWarning(AdminLog.ChangeRefused, "Admin change {Target} by {Token} refused ({Status}): {Reason}", target, caller.Name, ex.Status, ex.Message);
            return ApiError.Result(ex.Status, ex.Message, ex.Field);
        }
    }
}
