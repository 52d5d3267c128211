using Lima2.Acquisition.Processing;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Tests.Processing;

/// <summary>Each pipeline kind brings its own consumers (SMX's peak finder: ReceiverRunWiringTests' SMX runs).</summary>
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
    public void A_kind_without_consumers_of_its_own_gets_none()
    {
        Assert.Empty(For(new LegacyProcParams(), reducedData: true));
        Assert.Empty(For(new FailingProcParams(), reducedData: true));
    }
}
