using System.CommandLine;
using System.Text.Json;

namespace Bridge.Host.Cli;

/// <summary>
/// <c>bridge links list|show|add|remove|pause|resume|add-endpoint|remove-endpoint</c>, <c>bridge deadletters list|retry|drop</c>
/// and <c>bridge puppets NETWORK</c>: the admin API from the command line.
/// </summary>
internal static class LinksCommand
{
    public static Command Links()
    {
        var links = new Command("links", "list and change links through the admin API (file links are read-only)");
        links.Subcommands.Add(Verb("list", "list every link (file and API)", [], (client, _, json, ct) => List(client, json, ct)));
        links.Subcommands.Add(Verb("show", "show one link", ["id"], async (client, args, _, ct) => Print(client, await client.SendAsync(HttpMethod.Get, $"api/links/{E(args[0])}", ct))));

        var endpoint = new Option<string[]>("--endpoint", "-e")
        {
            Description = "an endpoint as NETWORK=CHANNEL (at least two), e.g. -e org-a=ops@conference.a.example -e matrix='#ops:example.org'",
            AllowMultipleArgumentsPerToken = false,
        };
        var paused = new Option<bool>("--paused") { Description = "create the link paused" };
        var id = new Argument<string>("id") { Description = "the new link's id" };
        var (addUrl, addToken) = (AdminClient.UrlOption(), AdminClient.TokenOption());
        var add = new Command("add", "create a link");
        add.Arguments.Add(id);
        add.Options.Add(endpoint);
        add.Options.Add(paused);
        add.Options.Add(addUrl);
        add.Options.Add(addToken);
        add.SetAction(async (parse, ct) =>
        {
            using var client = AdminClient.From(parse, addUrl, addToken);
            var endpoints = new List<EndpointBody>();
            foreach (var text in parse.GetValue(endpoint) ?? [])
            {
                var at = text.IndexOf('=', StringComparison.Ordinal);
                if (at <= 0 || at == text.Length - 1)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"error: --endpoint '{text}' is not NETWORK=CHANNEL");
                    return 1;
                }

                endpoints.Add(new EndpointBody(text[..at], text[(at + 1)..]));
            }

            return Print(client, await client.SendAsync(HttpMethod.Post, "api/links", new NewLinkBody(parse.GetValue(id), endpoints, parse.GetValue(paused)), AdminClientJson.Default.NewLinkBody, ct));
        });
        links.Subcommands.Add(add);
        links.Subcommands.Add(Verb("remove", "delete a link (its pending rows are dead-lettered)", ["id"], async (client, args, _, ct) =>
            Print(client, await client.SendAsync(HttpMethod.Delete, $"api/links/{E(args[0])}", ct))));
        links.Subcommands.Add(Verb("pause", "hold a link's deliveries (messages wait, in order)", ["id"], async (client, args, _, ct) =>
            Print(client, await client.SendAsync(HttpMethod.Post, $"api/links/{E(args[0])}/pause", ct))));
        links.Subcommands.Add(Verb("resume", "deliver what a paused link holds, in order, and go on", ["id"], async (client, args, _, ct) =>
            Print(client, await client.SendAsync(HttpMethod.Post, $"api/links/{E(args[0])}/resume", ct))));
        links.Subcommands.Add(Verb("add-endpoint", "add a room to a link", ["id", "network", "channel"], async (client, args, _, ct) =>
            Print(client, await client.SendAsync(HttpMethod.Post, $"api/links/{E(args[0])}/endpoints", new EndpointBody(args[1], args[2]), AdminClientJson.Default.EndpointBody, ct))));
        links.Subcommands.Add(Verb("remove-endpoint", "remove a room from a link (its pending rows are dead-lettered)", ["id", "network", "channel"], async (client, args, _, ct) =>
            Print(client, await client.SendAsync(HttpMethod.Delete, $"api/links/{E(args[0])}/endpoints?network={E(args[1])}&channel={E(args[2])}", ct))));
        return links;
    }

    public static Command DeadLetters()
    {
        var command = new Command("deadletters", "list, retry and drop dead-lettered deliveries through the admin API");
        command.Subcommands.Add(Verb("list", "list dead letters, newest first", [], async (client, _, json, ct) =>
        {
            var result = await client.SendAsync(HttpMethod.Get, "api/deadletters", ct);
            if (result is not { } list)
            {
                return 1;
            }

            if (json)
            {
                client.Print(list);
                return 0;
            }

            foreach (var d in list.EnumerateArray())
            {
                await client.Output.WriteLineAsync($"{d.GetProperty("id")}\t{d.GetProperty("link").GetString()}\t{d.GetProperty("network").GetString()}/{d.GetProperty("channel").GetString()}\t{d.GetProperty("reason").GetString()}");
            }

            return 0;
        }));
        command.Subcommands.Add(Verb("retry", "put a dead letter back in its queue (attempts start again)", ["id"], async (client, args, _, ct) =>
            Print(client, await client.SendAsync(HttpMethod.Post, $"api/deadletters/{E(args[0])}/retry", ct))));
        command.Subcommands.Add(Verb("drop", "give up a dead letter for good", ["id"], async (client, args, _, ct) =>
            Print(client, await client.SendAsync(HttpMethod.Delete, $"api/deadletters/{E(args[0])}", ct))));
        return command;
    }

    public static Command Puppets()
    {
        var network = new Argument<string>("network") { Description = "the network id" };
        var (url, token) = (AdminClient.UrlOption(), AdminClient.TokenOption());
        var command = new Command("puppets", "list the puppets of one network through the admin API");
        command.Arguments.Add(network);
        command.Options.Add(url);
        command.Options.Add(token);
        command.SetAction(async (parse, ct) =>
        {
            using var client = AdminClient.From(parse, url, token);
            return Print(client, await client.SendAsync(HttpMethod.Get, $"api/networks/{E(parse.GetValue(network)!)}/puppets", ct));
        });
        return command;
    }

    private static Command Verb(string name, string description, string[] arguments, Func<AdminClient, string[], bool, CancellationToken, Task<int>> run)
    {
        var command = new Command(name, description);
        var args = arguments.Select(a => new Argument<string>(a)).ToList();
        foreach (var a in args)
        {
            command.Arguments.Add(a);
        }

        var (url, token, json) = (AdminClient.UrlOption(), AdminClient.TokenOption(), AdminClient.JsonOption());
        command.Options.Add(url);
        command.Options.Add(token);
        command.Options.Add(json);
        command.SetAction(async (parse, ct) =>
        {
            using var client = AdminClient.From(parse, url, token);
            return await run(client, [.. args.Select(a => parse.GetValue(a)!)], parse.GetValue(json), ct);
        });
        return command;
    }

    private static async Task<int> List(AdminClient client, bool json, CancellationToken ct)
    {
        var result = await client.SendAsync(HttpMethod.Get, "api/links", ct);
        if (result is not { } list)
        {
            return 1;
        }

        if (json)
        {
            client.Print(list);
            return 0;
        }

        foreach (var link in list.EnumerateArray())
        {
            var endpoints = string.Join("  ", link.GetProperty("endpoints").EnumerateArray().Select(e => $"{e.GetProperty("network").GetString()}={e.GetProperty("channel").GetString()}"));
            await client.Output.WriteLineAsync($"{link.GetProperty("id").GetString()}\t{link.GetProperty("source").GetString()}\t{(link.GetProperty("paused").GetBoolean() ? "paused" : "active")}\t{endpoints}");
        }

        return 0;
    }

    private static int Print(AdminClient client, JsonElement? result)
    {
        if (result is not { } json)
        {
            return 1;
        }

        client.Print(json);
        return 0;
    }

    private static string E(string text) => Uri.EscapeDataString(text);
}
