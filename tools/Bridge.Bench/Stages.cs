using System.Globalization;
using System.Text.RegularExpressions;

namespace Bridge.Bench;

/// <summary>The cumulative stage histograms of one scrape, and the difference of two.</summary>
internal static partial class Stages
{
    public static Dictionary<(string Stage, string Network), (double[] Bounds, double[] Cumulative, double Sum, double Count)> Parse(string metrics)
    {
        var result = new Dictionary<(string, string), (List<(double, double)> Buckets, double Sum, double Count)>();
        foreach (var line in metrics.Split('\n'))
        {
            var m = Sample().Match(line);
            if (!m.Success)
            {
                continue;
            }

            var labels = Labels().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            var key = (labels.GetValueOrDefault("stage", ""), labels.GetValueOrDefault("network", ""));
            var value = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            var entry = result.TryGetValue(key, out var e) ? e : ([], 0, 0);
            switch (m.Groups["kind"].Value)
            {
                case "bucket":
                    var le = labels["le"];
                    entry.Buckets.Add((le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture), value));
                    break;
                case "sum":
                    entry.Sum = value;
                    break;
                default:
                    entry.Count = value;
                    break;
            }

            result[key] = entry;
        }

        var parsed = new Dictionary<(string Stage, string Network), (double[] Bounds, double[] Cumulative, double Sum, double Count)>();
        foreach (var (key, value) in result)
        {
            var ordered = value.Buckets.OrderBy(b => b.Item1).ToList();
            parsed[key] = (ordered.Select(b => b.Item1).ToArray(), ordered.Select(b => b.Item2).ToArray(), value.Sum, value.Count);
        }

        return parsed;
    }

    public static IEnumerable<string> Difference(
        Dictionary<(string Stage, string Network), (double[] Bounds, double[] Cumulative, double Sum, double Count)> before,
        Dictionary<(string Stage, string Network), (double[] Bounds, double[] Cumulative, double Sum, double Count)> after)
    {
        string[] order = ["route", "commit", "fetch", "queued", "prepare", "send", "record"];
        foreach (var (key, now) in after.OrderBy(kv => Array.IndexOf(order, kv.Key.Stage)).ThenBy(kv => kv.Key.Network, StringComparer.Ordinal))
        {
            var then = before.TryGetValue(key, out var b) ? b : (now.Bounds, new double[now.Bounds.Length], 0, 0);
            var count = now.Count - then.Count;
            if (count <= 0)
            {
                continue;
            }

            var cumulative = now.Cumulative.Select((c, i) => c - (i < then.Cumulative.Length ? then.Cumulative[i] : 0)).ToArray();
            string Bound(double q)
            {
                var i = Array.FindIndex(cumulative, c => c >= q * count);
                return i < 0 || double.IsPositiveInfinity(now.Bounds[i]) ? "inf" : now.Bounds[i].ToString("0.##", CultureInfo.InvariantCulture);
            }

            yield return $"{key.Stage,-8} | {key.Network,-7} | {count,6} | {(now.Sum - then.Sum) / count,7:F2} | {Bound(0.5),9} | {Bound(0.99),9}";
        }
    }

    [GeneratedRegex("^bridge_stage_duration_milliseconds_(?<kind>bucket|sum|count)\\{(?<labels>[^}]*)\\} (?<value>[0-9.eE+-]+)")]
    private static partial Regex Sample();

    [GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial Regex Labels();
}
