using Microsoft.Extensions.Hosting;

namespace Sandbox.Matrix.Hosting;

/// <summary>A host lifetime that ignores console signals: start and stop are driven by <see cref="MatrixSandbox"/>.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
