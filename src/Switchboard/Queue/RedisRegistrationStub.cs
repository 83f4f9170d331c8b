using Switchboard.Config;

namespace Switchboard.Queue;

// Placeholder until the Redis queue lands (replaced by RedisRegistration.cs).
public static class RedisRegistrationStub
{
    public static IServiceCollection AddRedisJobQueue(this IServiceCollection services, BootstrapConfig bootstrap) =>
        throw new NotSupportedException("redis " + bootstrap.RedisPrefix);

    public static IServiceCollection AddRedisExecutorHeartbeat(this IServiceCollection services) => services;

    public static IServiceCollection AddRedisReconLease(this IServiceCollection services) => services;
}
