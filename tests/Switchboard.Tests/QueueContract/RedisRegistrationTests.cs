using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Switchboard.Hosting;
using Switchboard.Queue;
using Switchboard.Recon;

namespace Switchboard.Tests.QueueContract;

[Collection(RedisCollection.Name)]
public sealed class RedisRegistrationTests
{
    [Fact]
    public async Task TheRedisPartsReplaceTheEmbeddedDefaults()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IJobQueue, InProcessJobQueue>();
        services.AddSingleton<IReconLeadership, SoleLeader>();

        services.AddSwitchboardRedis($"redis://{TestServices.Redis}", $"t{Guid.NewGuid():N}"[..13]);
        services.AddRedisJobQueue(consumer: _ => "executor-1", reclaimAfter: _ => TimeSpan.FromSeconds(30));
        services.AddRedisReconLease(TimeSpan.FromSeconds(1));

        await using var provider = services.BuildServiceProvider();
        var queue = Assert.IsType<RedisJobQueue>(provider.GetRequiredService<IJobQueue>());
        var lease = Assert.IsType<RedisReconLease>(provider.GetRequiredService<IReconLeadership>());
        // Hosted: the lease, and the start-up connect of the queue.
        Assert.Contains(lease, provider.GetServices<IHostedService>());
        Assert.Equal(2, provider.GetServices<IHostedService>().Count());

        var message = new JobMessage($"req_{Guid.NewGuid():N}", 1, "echo.render");
        await queue.EnqueueAsync(message);
        await queue.FlushAsync();
        Assert.Empty(await queue.MissingAsync([message]));
    }
}
