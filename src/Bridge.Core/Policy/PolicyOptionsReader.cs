using System.Globalization;
using Bridge.Core.Connectors;
using Microsoft.Extensions.Configuration;

namespace Bridge.Core.Policy;

/// <summary>
/// Reads the <c>policy:</c> section into <see cref="PolicyOptions"/> by hand rather than with the binder, so that every
/// problem (a wrong type, an unknown key such as a misspelt <c>clearence</c>) names its full key and none is silently ignored.
/// </summary>
public static class PolicyOptionsReader
{
    public static PolicyOptions Read(IConfigurationSection section, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        var o = new PolicyOptions();
        if (!section.Exists())
        {
            return o;
        }

        Known(section, errors, "labels", "notices", "barrierNotice", "noticeWindow", "networks", "barriers", "defaults", "links");
        o.Labels = StringList(section.GetSection("labels"), errors);
        o.Notices = Bool(section.GetSection("notices"), errors) ?? true;
        o.BarrierNotice = String(section.GetSection("barrierNotice"), errors) ?? o.BarrierNotice;
        o.NoticeWindow = (int?)Long(section.GetSection("noticeWindow"), errors, NoticeSettings.MaxWindowSeconds) ?? o.NoticeWindow;
        foreach (var n in section.GetSection("networks").GetChildren())
        {
            Known(n, errors, "clearance", "defaultLabel");
            o.Networks[n.Key] = new NetworkPolicyOptions
            {
                Clearance = String(n.GetSection("clearance"), errors),
                DefaultLabel = String(n.GetSection("defaultLabel"), errors),
            };
        }

        foreach (var b in ListItems(section.GetSection("barriers"), errors))
        {
            o.Barriers.Add(StringList(b, errors));
        }

        ReadRuleSet(section.GetSection("defaults"), o.Defaults, errors, []);
        foreach (var l in section.GetSection("links").GetChildren())
        {
            var link = new LinkPolicyOptions();
            ReadRuleSet(l, link, errors, ["destinations"]);
            foreach (var d in l.GetSection("destinations").GetChildren())
            {
                var dest = new DestinationPolicyOptions
                {
                    Clearance = String(d.GetSection("clearance"), errors),
                    Block = Bool(d.GetSection("block"), errors) ?? false,
                };
                ReadRuleSet(d, dest, errors, ["clearance", "block"]);
                link.Destinations[d.Key] = dest;
            }

            o.Links[l.Key] = link;
        }

        return o;
    }

    private static void ReadRuleSet(IConfigurationSection s, RuleSetOptions r, List<ConfigError> errors, string[] extraKeys)
    {
        if (!s.Exists())
        {
            return;
        }

        Known(s, errors, ["notices", "sources", "content", .. extraKeys]);
        r.Notices = Bool(s.GetSection("notices"), errors);
        var sources = s.GetSection("sources");
        Known(sources, errors, "allow", "deny");
        r.Sources.Allow = IdLists(sources.GetSection("allow"), errors);
        r.Sources.Deny = IdLists(sources.GetSection("deny"), errors);

        var c = s.GetSection("content");
        Known(c, errors, "attachments", "links", "redact", "maxLength", "maxLengthAction", "neutraliseMentions");
        var content = r.Content;
        var a = c.GetSection("attachments");
        if (a.Exists())
        {
            Known(a, errors, "allowed", "types", "maxBytes", "action");
            content.Attachments = new AttachmentRulesOptions
            {
                Allowed = Bool(a.GetSection("allowed"), errors) ?? true,
                Types = StringList(a.GetSection("types"), errors),
                MaxBytes = Long(a.GetSection("maxBytes"), errors),
                Action = String(a.GetSection("action"), errors) ?? "strip",
            };
        }

        var links = c.GetSection("links");
        if (links.Exists())
        {
            Known(links, errors, "allowed", "allowedDomains", "action", "replacement");
            content.Links = new LinkRulesOptions
            {
                Allowed = Bool(links.GetSection("allowed"), errors) ?? true,
                AllowedDomains = StringList(links.GetSection("allowedDomains"), errors),
                Action = String(links.GetSection("action"), errors) ?? "replace",
                Replacement = links.GetSection("replacement").Value ?? "[link removed]",
            };
        }

        foreach (var item in ListItems(c.GetSection("redact"), errors))
        {
            Known(item, errors, "name", "pattern", "replacement");
            content.Redact.Add(new RedactionOptions
            {
                Name = String(item.GetSection("name"), errors) ?? "",
                Pattern = item.GetSection("pattern").Value ?? "",
                Replacement = item.GetSection("replacement").Value ?? "[REDACTED]",
            });
        }

        content.MaxLength = (int?)Long(c.GetSection("maxLength"), errors, int.MaxValue);
        content.MaxLengthAction = String(c.GetSection("maxLengthAction"), errors);
        content.NeutraliseMentions = Bool(c.GetSection("neutraliseMentions"), errors);
    }

    private static IdListsOptions IdLists(IConfigurationSection s, List<ConfigError> errors)
    {
        Known(s, errors, "networks", "organisations", "people");
        return new IdListsOptions
        {
            Networks = StringList(s.GetSection("networks"), errors),
            Organisations = StringList(s.GetSection("organisations"), errors),
            People = StringList(s.GetSection("people"), errors),
        };
    }

    private static void Known(IConfigurationSection s, List<ConfigError> errors, params string[] keys)
    {
        foreach (var child in s.GetChildren())
        {
            if (!keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add(Configuration.ConfigSchema.UnknownKey(child.Path, child.Key, keys));
            }
        }
    }

    /// <summary>The items of a YAML/JSON list (children keyed 0, 1, 2...), in order.</summary>
    private static List<IConfigurationSection> ListItems(IConfigurationSection s, List<ConfigError> errors)
    {
        var items = new List<(int Index, IConfigurationSection Section)>();
        if (!s.Exists())
        {
            return [];
        }

        if (s.Value is { Length: > 0 })
        {
            errors.Add(new ConfigError(s.Path, "expected a list"));
            return [];
        }

        foreach (var child in s.GetChildren())
        {
            if (int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                items.Add((index, child));
            }
            else
            {
                errors.Add(new ConfigError(child.Path, "expected a list item"));
            }
        }

        return items.OrderBy(i => i.Index).Select(i => i.Section).ToList();
    }

    private static List<string> StringList(IConfigurationSection s, List<ConfigError> errors)
    {
        var list = new List<string>();
        foreach (var item in ListItems(s, errors))
        {
            if (String(item, errors) is { } v)
            {
                list.Add(v);
            }
        }

        return list;
    }

    private static string? String(IConfigurationSection s, List<ConfigError> errors)
    {
        if (!s.Exists())
        {
            return null;
        }

        if (s.Value is null)
        {
            errors.Add(new ConfigError(s.Path, "expected a single value"));
            return null;
        }

        // YAML's null (an empty "key:") arrives as an empty value: the same as leaving the key out.
        return s.Value.Trim() is { Length: > 0 } value ? value : null;
    }

    private static bool? Bool(IConfigurationSection s, List<ConfigError> errors)
    {
        var v = String(s, errors);
        if (v is null)
        {
            return null;
        }

        if (bool.TryParse(v, out var b))
        {
            return b;
        }

        errors.Add(new ConfigError(s.Path, $"'{v}' is not true or false"));
        return null;
    }

    private static long? Long(IConfigurationSection s, List<ConfigError> errors, long max = long.MaxValue)
    {
        var v = String(s, errors);
        if (v is null)
        {
            return null;
        }

        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 && n <= max)
        {
            return n;
        }

        errors.Add(new ConfigError(s.Path, $"'{v}' is not a whole number between 0 and {max}"));
        return null;
    }
}
