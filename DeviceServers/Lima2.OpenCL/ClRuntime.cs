using System.Collections.Concurrent;

namespace Lima2.OpenCL;

/// <summary>
/// Process-wide OpenCL contexts (one per device) and built programs (one per source and options): building is
/// slow on some drivers, and every peak finder of the process shares them. They live as long as the process.
/// </summary>
public static class ClRuntime
{
    private static readonly ConcurrentDictionary<string, ClContext> Contexts = new();
    private static readonly ConcurrentDictionary<(ClContext, string), Lazy<ClProgram>> Programs = new();

    public static ClContext Context(ClDevice device) => Contexts.GetOrAdd(device.CacheIdentity + "|" + device.Platform.Index + ":" + device.Index, _ => new ClContext(device));

    public static ClProgram Program(ClContext context, string source, string options, string? cacheDirectory) =>
        Programs.GetOrAdd((context, options + "\n" + source.GetHashCode()), _ => new Lazy<ClProgram>(() => ClProgram.Build(context, source, options, cacheDirectory))).Value;

    /// <summary>Copies <paramref name="data"/> into <paramref name="buffer"/> and waits for the copy.</summary>
    public static void Upload<T>(ClContext context, ClBuffer buffer, T[] data) where T : unmanaged
    {
        using var queue = context.CreateQueue();
        queue.Write<T>(buffer, data.AsSpan());
        queue.Finish();
    }
}
