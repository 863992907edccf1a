using Microsoft.Extensions.Hosting;

namespace Bridge.Matrix.Appservice;

/// <summary>
/// The listener is embedded in the bridge host: it must not react to SIGTERM itself (the default console lifetime
/// would stop it before the runtime has drained), nor announce itself as an application.
/// </summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
