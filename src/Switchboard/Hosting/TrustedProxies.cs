using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

using Switchboard.Config;

namespace Switchboard.Hosting;

/// <summary>
/// <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> believed only from the reverse proxies
/// the process configuration names (<see cref="SwitchboardOptions.KnownProxies"/>,
/// <see cref="SwitchboardOptions.KnownNetworks"/>): the framework's middleware, with its default
/// trust of loopback removed, and not in the pipeline at all when none is named, so a client cannot claim another address (and escape the login
/// lockout) or https. Behind a TLS-terminating proxy the request's scheme is then https, and the
/// panel's cookie is <c>Secure</c>.
/// </summary>
public static class TrustedProxies
{
    public static IServiceCollection AddTrustedProxies(this IServiceCollection services)
    {
        // The messages never quote the values: a misplaced value may be a secret.
        services.AddOptions<SwitchboardOptions>()
            .Validate(o => o.KnownProxies.All(p => IPAddress.TryParse(p, out _)), "Switchboard:KnownProxies must be IP addresses")
            .Validate(o => o.KnownNetworks.All(n => System.Net.IPNetwork.TryParse(n, out _)), "Switchboard:KnownNetworks must be networks in CIDR form (10.0.0.0/8)");
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<SwitchboardOptions>>((forwarded, options) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in options.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }
            foreach (var network in options.Value.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return services;
    }

    /// <summary>
    /// The middleware, only when a proxy or network is named: with both lists empty it would
    /// believe every peer.
    /// </summary>
    public static WebApplication UseTrustedProxies(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<SwitchboardOptions>>().Value;
        if (options.KnownProxies.Length > 0 || options.KnownNetworks.Length > 0)
        {
            app.UseForwardedHeaders();
        }
        return app;
    }
}
