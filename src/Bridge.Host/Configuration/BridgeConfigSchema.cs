using Bridge.Core.Configuration;
using Bridge.Core.Connectors;
using Bridge.Core.Delivery;
using Bridge.Core.Model;
using Bridge.Core.Routing;

namespace Bridge.Host.Configuration;

/// <summary>
/// Every key the bridge's configuration may hold. Sections bound to option types come from those types; the sections
/// read by hand (<c>networks:</c>, <c>links:</c>) are listed here; a network's connector section is checked by its
/// connector factory, from its options type; <c>policy:</c> is checked by its own reader
/// (<see cref="Bridge.Core.Policy.PolicyOptionsReader"/>) with the same wording; <c>logging:</c> belongs to .NET logging.
/// </summary>
internal static class BridgeConfigSchema
{
    private static readonly ConfigSchema Text = ConfigSchema.Value(typeof(string));

    /// <summary>The <c>database:</c> section (also checked on its own by the audit verbs).</summary>
    public static ConfigSchema DatabaseSchema => ConfigSchema.FromType(typeof(DatabaseOptions),
        ConfigSchema.Nested(typeof(Bridge.Core.Storage.Sqlite.SqliteStoreOptions)), ConfigSchema.Nested(typeof(PostgresSettings)));

    public static ConfigSchema Build(IEnumerable<INetworkConnectorFactory> factories)
    {
        var kinds = factories.Select(f => SectionName(f.Kind)).ToList();
        var network = ConfigSchema.Dynamic(section =>
        {
            List<(string, ConfigSchema)> keys = [("kind", Text), ("organisation", Text), ("defaultLabel", Text), ("clearance", Text), ("language", Text), ("directMessages", ConfigSchema.Value(typeof(bool)))];
            var kindText = section["kind"];
            if (Enum.TryParse<NetworkKind>(kindText, ignoreCase: true, out var kind) && Enum.IsDefined(kind) && !int.TryParse(kindText, out _))
            {
                // The connector's own section: its factory checks it (INetworkConnectorFactory.Validate).
                keys.Add((SectionName(kind), ConfigSchema.CheckedElsewhere));
            }
            else
            {
                // The kind itself is wrong (reported by the topology reader): do not also call its section unknown.
                keys.AddRange(kinds.Select(k => (k, ConfigSchema.CheckedElsewhere)));
            }

            return ConfigSchema.Section([.. keys]);
        });

        var endpoint = ConfigSchema.Section(("network", Text), ("channel", Text), ("language", Text));
        return ConfigSchema.Section(
            ("database", DatabaseSchema),
            ("delivery", ConfigSchema.FromType(typeof(DeliveryOptions))),
            ("retention", ConfigSchema.FromType(typeof(Bridge.Core.Storage.Retention.RetentionOptions))),
            ("limits", ConfigSchema.FromType(typeof(Bridge.Core.Delivery.Fairness.LimitsOptions))),
            ("audit", ConfigSchema.FromType(typeof(AuditOptions))),
            ("admin", ConfigSchema.FromType(typeof(AdminOptions), ConfigSchema.Nested(typeof(AdminTokenOptions)))),
            ("telemetry", ConfigSchema.FromType(typeof(TelemetryOptions))),
            ("networks", ConfigSchema.MapOf(network)),
            ("links", ConfigSchema.MapOf(ConfigSchema.Section(("endpoints", ConfigSchema.ListOf(endpoint)), ("translation", Text)))),
            ("translation", ConfigSchema.FromType(typeof(Bridge.Core.Translation.TranslationOptions),
                ConfigSchema.Nested(typeof(Bridge.Core.Translation.TranslationEngineOptions)), ConfigSchema.Nested(typeof(Bridge.Core.Translation.PersonLanguageOptions)))),
            ("policy", ConfigSchema.CheckedElsewhere),
            ("logging", ConfigSchema.Any));
    }

    /// <summary>The kind-specific section of a network: <c>networks:&lt;id&gt;:xmpp</c>, <c>:matrix</c>, <c>:mattermost</c>.</summary>
    public static string SectionName(NetworkKind kind) => kind.ToString().ToLowerInvariant();
}
