namespace Switchboard.Config;

public static class ConfigRegistration
{
    /// <summary>
    /// What a process runs with: its settings (<see cref="SwitchboardOptions"/>, checked at start
    /// so a bad value fails naming its key), the bootstrap config, and the app configs in the
    /// store (<see cref="AppConfigs"/>, loaded and followed by <c>Hosting/StoreWatcher</c>).
    /// Their admin endpoints are <see cref="ConfigsAdminEndpoints"/>.
    /// </summary>
    public static IServiceCollection AddConfigs(this IServiceCollection services, BootstrapConfig bootstrap)
    {
        services.AddOptions<SwitchboardOptions>()
            .BindConfiguration(SwitchboardOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.RetryBaseDelay > TimeSpan.Zero && o.RetryMaxDelay >= o.RetryBaseDelay, "Switchboard:RetryBaseDelay must be > 0 and <= Switchboard:RetryMaxDelay")
            .Validate(o => o.StorePollInterval > TimeSpan.Zero && o.ReconInterval > TimeSpan.Zero, "Switchboard:StorePollInterval and Switchboard:ReconInterval must be > 0")
            .Validate(o => o.RetentionInterval > TimeSpan.Zero, "Switchboard:RetentionInterval must be > 0")
            .Validate(o => o.LeaseMargin is not { } m || (m > TimeSpan.Zero && m <= TimeSpan.FromSeconds(o.LeaseSeconds / 2.0)), "Switchboard:LeaseMargin must be > 0 and at most half of Switchboard:LeaseSeconds")
            .Validate(o => o.PriorityAgeStep > TimeSpan.Zero, "Switchboard:PriorityAgeStep must be > 0")
            .ValidateOnStart();
        services.AddSingleton(bootstrap);
        services.AddSingleton<AppConfigs>();
        return services;
    }
}
