using System.Text.Json;

namespace Lima2.Protocol.Tests;

public sealed class LimaErrorTests
{
    [Fact]
    public void Error_payload_has_what_and_errinfo_as_clients_decode_it()
    {
        var error = LimaError.From(Thrown(new InvalidOperationException("receiver 1 lost its detector stream")));

        using var json = JsonDocument.Parse(error.ToJson());

        Assert.Equal("receiver 1 lost its detector stream", json.RootElement.GetProperty("what").GetString());
        Assert.Equal("InvalidOperationException", json.RootElement.GetProperty("errinfo").GetProperty("type").GetString());
        Assert.Equal(error.What, LimaError.Parse(error.ToJson())!.What);
    }

    [Fact]
    public void The_payload_holds_no_stack_trace_and_no_source_path()
    {
        var json = LimaError.From(Thrown(new InvalidOperationException("boom"))).ToJson();

        Assert.DoesNotContain("stacktrace", json);
        Assert.DoesNotContain(".cs", json);
        Assert.DoesNotContain(" at ", json);
    }

    [Fact]
    public void What_is_one_plain_sentence()
    {
        Assert.Equal("nb_frames must be positive", LimaError.From(new ArgumentException("nb_frames must be positive", "acq")).What);
        Assert.Equal("open x.h5 failed; H5Fopen: file not found", LimaError.From(new IOException("open x.h5 failed\n  H5Fopen: file not found\n")).What);
    }

    private static Exception Thrown(Exception error)
    {
        try
        {
            throw error;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
