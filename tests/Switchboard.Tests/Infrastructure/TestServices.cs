namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// The external servers the suite runs against, started by <c>./test.sh</c> and passed in the
/// environment. A missing one fails the test that needs it: nothing is skipped silently.
/// </summary>
public static class TestServices
{
    /// <summary>Npgsql connection string of a throwaway PostgreSQL superuser (the server test.sh started).</summary>
    public static string PostgresAdmin => Required("SWITCHBOARD_TEST_PG");

    /// <summary><c>host:port</c> of the throwaway Redis server test.sh started.</summary>
    public static string Redis => Required("SWITCHBOARD_TEST_REDIS");

    /// <summary>The <c>prometheus</c> server binary (Debian's package, installed by test.sh).</summary>
    public static string Prometheus => Required("SWITCHBOARD_TEST_PROMETHEUS");

    /// <summary>
    /// "1" once test.sh has prepared Docker (scripts/containers.sh): installed docker.io,
    /// docker-compose and debootstrap, started its own dockerd (socket in DOCKER_HOST) and made
    /// the base images the Dockerfile and deploy/compose.yaml name, offline.
    /// </summary>
    public static string Docker => Required("SWITCHBOARD_TEST_DOCKER");

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: run the suite with ./test.sh, which starts the servers the tests need");
}
