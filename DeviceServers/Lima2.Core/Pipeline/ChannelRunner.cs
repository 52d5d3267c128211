namespace Lima2.Core.Pipeline;

/// <summary>How one receiver's run ended: the channel's and the graph's summaries and the first error, if any.</summary>
/// <param name="Channel">null when the channel failed</param>
/// <param name="Graph">final counters (balanced) even when a node failed</param>
/// <param name="Error">the channel's exception, else the graph's <see cref="GraphFaultedException"/>, else null</param>
public sealed record RunResult(ChannelSummary? Channel, GraphSummary Graph, Exception? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>Runs a channel into a graph to the end: the common loop of <c>lima2 receive</c> and the receiver device.</summary>
public static class ChannelRunner
{
    /// <summary>
    /// Delivers the channel's frames to the graph until the end of the stream, <paramref name="stop"/>, a channel
    /// error or a graph fault; then completes the graph. Frames already in the graph are processed (and saved) even
    /// when the channel failed or was stopped.
    /// </summary>
    public static async Task<RunResult> RunAsync(IDetectorChannel channel, FrameGraph graph, CancellationToken stop)
    {
        ChannelSummary? channelSummary = null;
        Exception? channelError = null;
        try
        {
            channelSummary = await channel.RunAsync(graph, stop).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            channelError = e;
        }
        try
        {
            var summary = await graph.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
            return new RunResult(channelSummary, summary, channelError);
        }
        catch (GraphFaultedException e)
        {
            return new RunResult(channelSummary, e.Summary, channelError ?? e);
        }
    }
}
