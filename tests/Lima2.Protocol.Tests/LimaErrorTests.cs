using System.Text.Json;

namespace Lima2.Protocol.Tests;

public sealed class LimaErrorTests
{
    [Fact]
    public void Error_payload_has_what_and_errinfo_as_clients_decode_it()
    {
        var error = LimaError.From(new InvalidOperationException("receiver 1 lost its detector stream"));

        using var json = JsonDocument.Parse(error.ToJson());

        Assert.Equal("receiver 1 lost its detector stream", json.RootElement.GetProperty("what").GetString());
        Assert.Equal("InvalidOperationException", json.RootElement.GetProperty("errinfo").GetProperty("type").GetString());
        Assert.True(json.RootElement.GetProperty("errinfo").TryGetProperty("stacktrace", out _));
        Assert.Equal(error.What, LimaError.Parse(error.ToJson())!.What);
    }
}
