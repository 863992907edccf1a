using System.Text.Json;
using System.Text.Json.Serialization;
using Bridge.Core.Connectors;
using Bridge.Core.Storage;
using Bridge.Host.Admin.Api;
using Bridge.Host.Admin.Console;

namespace Bridge.Host.Admin;

/// <summary>
/// Every answer of the admin API and the web console, generated at build time: no reflection at run time, so the API
/// works trimmed and under Native AOT (where the reflection-based serializer is off). Web defaults (camelCase, nulls
/// written), as <c>JsonSerializerDefaults.Web</c> gave the reflection-based answers before; each view is a named record
/// whose properties are in the order the anonymous object it replaces had (<c>AdminJsonContractTests</c>).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ApiErrorBody))]
[JsonSerializable(typeof(StatusView))]
[JsonSerializable(typeof(IReadOnlyList<DeadLetter>))]
[JsonSerializable(typeof(List<DeadLetterView>))]
[JsonSerializable(typeof(DeadLetterStateView))]
[JsonSerializable(typeof(List<NetworkView>))]
[JsonSerializable(typeof(IReadOnlyList<PuppetInfo>))]
[JsonSerializable(typeof(LinkView))]
[JsonSerializable(typeof(List<LinkView>))]
[JsonSerializable(typeof(DirectPortalView))]
[JsonSerializable(typeof(List<DirectPortalView>))]
[JsonSerializable(typeof(ConsoleAccessView))]
[JsonSerializable(typeof(OverviewView))]
[JsonSerializable(typeof(PolicyAnswerView))]
[JsonSerializable(typeof(AuditPageView))]
[JsonSerializable(typeof(AuditVerifyView))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;

/// <summary>
/// Request bodies of the admin API, read strictly: web defaults (camelCase, any case accepted) and no unknown fields,
/// as the reflection-based reader had them.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CreateLinkRequest))]
[JsonSerializable(typeof(UpdateLinkRequest))]
[JsonSerializable(typeof(Bridge.Core.Links.EndpointSpec))]
internal sealed partial class AdminRequestJsonContext : JsonSerializerContext;
