using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Switchboard.Tests.OpenApi;

namespace Switchboard.Tests.Handlers;

/// <summary>
/// The sample plugin of <c>examples/handlers/SampleHandlers</c>, as its build (which this test
/// project orders before its own) wrote it, installed into a plugins folder as an operator would.
/// </summary>
public static class PluginTestFolder
{
    public const string Name = "SampleHandlers";

    /// <summary>The test-only plugin of <c>tests/ProbePlugin</c> (<c>probe.fetch</c>: takes the guarded HttpClient).</summary>
    public const string Probe = "ProbePlugin";

    private static readonly string Configuration = typeof(PluginTestFolder).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;

    /// <summary>The sample plugin's build output, in this test build's configuration.</summary>
    public static string SampleBuild { get; } = Path.Combine(OpenApiClientTests.RepoRoot(), "examples", "handlers", Name, "bin", Configuration, "net10.0");

    public static string ProbeBuild { get; } = Path.Combine(OpenApiClientTests.RepoRoot(), "tests", Probe, "bin", Configuration, "net10.0");

    /// <summary>
    /// Copies the sample plugin (or <paramref name="plugin"/>) into <paramref name="pluginsFolder"/><c>/&lt;name&gt;/</c>, its
    /// files renamed to <paramref name="name"/> (a second copy under another name is a second
    /// plugin with the same handler ids). Returns the plugin's main file.
    /// </summary>
    public static string Install(string pluginsFolder, string name = Name, string plugin = Name)
    {
        var target = Directory.CreateDirectory(Path.Combine(pluginsFolder, name)).FullName;
        foreach (var file in Directory.EnumerateFiles(plugin == Probe ? ProbeBuild : SampleBuild))
        {
            var fileName = Path.GetFileName(file);
            File.Copy(file, Path.Combine(target, fileName.StartsWith(plugin + ".", StringComparison.Ordinal) ? name + fileName[plugin.Length..] : fileName));
        }
        return Path.Combine(pluginsFolder, name, name + ".dll");
    }

    /// <summary>
    /// Rewrites, in place, the version of the contract assembly that <paramref name="dll"/>
    /// references: what a build against another release of Switchboard.Handlers.Abstractions
    /// would record (the AssemblyRef row's four version numbers; the contract has no strong name).
    /// </summary>
    public static void SetContractVersion(string dll, Version version)
    {
        long offset;
        using (var pe = new PEReader(File.OpenRead(dll)))
        {
            var reader = pe.GetMetadataReader();
            var row = reader.AssemblyReferences.Single(h => reader.GetString(reader.GetAssemblyReference(h).Name) == "Switchboard.Handlers.Abstractions");
            offset = pe.PEHeaders.MetadataStartOffset + reader.GetTableMetadataOffset(TableIndex.AssemblyRef)
                + (long)reader.GetTableRowSize(TableIndex.AssemblyRef) * (MetadataTokens.GetRowNumber(row) - 1);
        }
        using var file = File.OpenWrite(dll);
        file.Position = offset;
        using var writer = new BinaryWriter(file);
        foreach (var part in new[] { version.Major, version.Minor, Math.Max(version.Build, 0), Math.Max(version.Revision, 0) })
        {
            writer.Write((ushort)part);
        }
    }
}
