using Lima2.Acquisition.Processing;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Tests.Processing;

/// <summary>Each pipeline kind brings its own consumers (SMX's peak finder: ReceiverRunWiringTests' SMX runs), checks and
/// needs, asked for by kind without naming it (the receiver device: ReceiverLogicTests).</summary>
public sealed class PipelineConsumersTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("consumers-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private IReadOnlyList<Core.Pipeline.FrameConsumer> For(ProcParams proc, bool reducedData)
    {
        using var root = new SavingRoot(_folder);
        return PipelineConsumers.For(proc, new PipelineContext(new FrameInfo(8, 4, PixelType.Gray16), new ReceiverConfig(), root,
            new ReferenceImages(), Metadata: null, reducedData));
    }

    [Fact]
    public void XPCS_serves_its_sparse_frames_when_the_run_serves_reduced_data()
    {
        var proc = new XpcsProcParams();
        Assert.IsType<XpcsSparseNode>(Assert.Single(For(proc, reducedData: true)));
        Assert.Empty(For(proc, reducedData: false));
    }

    [Fact]
    public void A_kind_without_consumers_of_its_own_gets_none_and_keeps_its_frames_on_the_managed_heap()
    {
        Assert.Empty(For(new LegacyProcParams(), reducedData: true));
        Assert.Empty(For(new FailingProcParams(), reducedData: true));
        Assert.Null(PipelineConsumers.FrameMemory(new XpcsProcParams(), new ReceiverConfig()));
    }

    [Fact]
    public void The_kinds_own_blocks_are_checked_by_kind_naming_the_field()
    {
        // a value the schema lets through, which only the peak finder's own checks refuse
        ProcParams smx = new SmxProcParams { Fai = System.Text.Json.JsonDocument.Parse("""{"min_nb_peaks": -1}""").RootElement };
        var error = Assert.Throws<ArgumentException>(() => PipelineConsumers.Validate(smx));
        Assert.Equal("fai.min_nb_peaks: must be ≥ 0", error.Message);
        PipelineConsumers.Validate(new SmxProcParams { Fai = System.Text.Json.JsonDocument.Parse("""{"min_nb_peaks": 3}""").RootElement });
        PipelineConsumers.Validate(new LegacyProcParams()); // no blocks of its own
    }

    [Fact]
    public void Only_SMX_runs_on_the_kernels_the_receiver_builds_at_its_start()
    {
        Assert.True(PipelineConsumers.UsesKernels(new SmxProcParams()));
        Assert.False(PipelineConsumers.UsesKernels(new LegacyProcParams()));
        Assert.False(PipelineConsumers.UsesKernels(new XpcsProcParams()));
    }
}
