using System.Text.Json;
using Lima2.Core.Parameters;
using Lima2.Protocol;

namespace Lima2.Server.Tests;

public sealed class LimaFailureTests
{
    [Fact]
    public void A_failure_becomes_one_LIMA_Exception_with_the_JSON_payload_to_which_the_client_adds_its_own()
    {
        var error = new ParamsException([new ParamsError("proc.fifo.nb_threads", "must be >= 1")]);
        var failed = LimaFailure.From(error, "id00/limareceiver/sim@0/proc_params");
        Assert.Single(failed.Errors);
        Assert.Equal(LimaError.Reason, failed.Errors[0].Reason);
        var payload = LimaError.Parse(failed.Errors[0].Description)!;
        Assert.Equal("proc.fifo.nb_threads: must be >= 1", payload.What);
        Assert.Equal(["proc.fifo.nb_threads: must be >= 1"], JsonSerializer.Deserialize<string[]>(payload.ErrorInfo["errors"])!);
        Assert.Equal("ParamsException", payload.ErrorInfo["type"]);
    }
}
