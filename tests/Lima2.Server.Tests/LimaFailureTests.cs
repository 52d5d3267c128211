using System.Text.Json;
using Lima2.Core.Parameters;
using Lima2.Protocol;

namespace Lima2.Server.Tests;

public sealed class LimaFailureTests
{
    [Fact]
    public void A_failure_becomes_two_dev_errors_the_first_a_LIMA_Exception_with_the_JSON_payload()
    {
        var error = new ParamsException([new ParamsError("proc.fifo.nb_threads", "must be >= 1")]);
        var failed = LimaFailure.From(error, "id00/limareceiver/sim@0/proc_params");
        Assert.Equal(2, failed.Errors.Count);
        Assert.Equal(LimaError.Reason, failed.Errors[0].Reason);
        var payload = LimaError.Parse(failed.Errors[0].Description)!;
        Assert.Equal("proc.fifo.nb_threads: must be >= 1", payload.What);
        Assert.Equal(["proc.fifo.nb_threads: must be >= 1"], JsonSerializer.Deserialize<string[]>(payload.ErrorInfo["errors"])!);
        Assert.Equal("ParamsException", failed.Errors[1].Reason);
    }

    [Fact]
    public void Guard_passes_values_through_and_wraps_exceptions()
    {
        Assert.Equal(3, LimaFailure.Guard("x", () => 3));
        var e = Assert.Throws<Tango.DevFailedException>(() => LimaFailure.Guard("dev/Start", () => throw new StateException("Start needs prepared")));
        Assert.Equal("Start needs prepared", e.Errors[1].Description);
        Assert.Equal("dev/Start", e.Errors[0].Origin);
    }
}
