using Sandbox.Matrix.Appservices;

namespace Sandbox.Matrix.Users;

/// <summary>A local account. Appservice users have no password.</summary>
internal sealed class UserAccount(string userId)
{
    public string UserId { get; } = userId;

    public string? Password { get; set; }

    public string? DisplayName { get; set; }

    public string? AvatarUrl { get; set; }

    public AppserviceRegistration? CreatedBy { get; set; }
}

/// <summary>A device access token issued by <c>/register</c> or <c>/login</c>.</summary>
internal sealed record AccessTokenInfo(string Token, string UserId, string DeviceId);

/// <summary>Who a request acts for: the user, the token that authenticated it, and the appservice if one asserted the identity.</summary>
internal sealed record Principal(string UserId, string TokenKey, string? DeviceId, AppserviceRegistration? Appservice);
