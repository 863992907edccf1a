using Microsoft.Extensions.Logging;

namespace Bridge.Core.Storage;

internal static class StoreLog
{
    public static readonly EventId Migrated = new(1001, nameof(Migrated));
    public static readonly EventId Fenced = new(1002, nameof(Fenced));
}
