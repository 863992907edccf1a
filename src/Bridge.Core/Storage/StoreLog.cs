using Microsoft.Extensions.Logging;

namespace Bridge.Core.Storage;

internal static class StoreLog
{
    public static readonly EventId Migrated = new(1001, nameof(Migrated));
}
