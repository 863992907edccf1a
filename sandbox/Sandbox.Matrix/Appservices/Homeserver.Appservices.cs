using Microsoft.Extensions.Logging;
using Sandbox.Matrix.Appservices;

namespace Sandbox.Matrix.Hosting;

/// <summary>Registering appservices: the sender user is created at once, as real homeservers do at startup.</summary>
internal sealed partial class Homeserver
{
    public AppservicePusher AddAppservice(AppserviceRegistration registration)
    {
        ArgumentException.ThrowIfNullOrEmpty(registration.Id);
        ArgumentException.ThrowIfNullOrEmpty(registration.AsToken);
        ArgumentException.ThrowIfNullOrEmpty(registration.HsToken);
        ArgumentException.ThrowIfNullOrEmpty(registration.SenderLocalpart);
        lock (_gate)
        {
            foreach (var existing in _appservices.Values)
            {
                if (existing.Registration.Id == registration.Id || existing.Registration.AsToken == registration.AsToken)
                {
                    throw new ArgumentException("Appservice id and as_token must be unique", nameof(registration));
                }
            }

            var pusher = new AppservicePusher(this, registration, LoggerFactory.CreateLogger<AppservicePusher>());
            _appservices[registration.Id] = pusher;
            var sender = registration.SenderUserId(ServerName);
            if (!_users.ContainsKey(sender))
            {
                CreateUserLocked(registration.SenderLocalpart, null, registration, issueToken: false, deviceId: null);
            }

            return pusher;
        }
    }

    public AppservicePusher? FindAppservice(string id)
    {
        lock (_gate)
        {
            return _appservices.GetValueOrDefault(id);
        }
    }

    public AppserviceRegistration? AppserviceByToken(string token)
    {
        lock (_gate)
        {
            return _appservices.Values.Select(p => p.Registration).FirstOrDefault(r => r.AsToken == token);
        }
    }
}
