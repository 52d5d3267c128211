using System.Text;
using Lima2.TestSupport;
using Lima2.Zmq;

namespace Lima2.Acquisition.Tests.Zmq;

public class ZmqSocketTests
{
    [Fact]
    public void Push_to_pull_delivers_every_part_of_a_multipart_message_in_order()
    {
        using var context = new ZmqContext();
        using var pull = context.CreateSocket(ZmqSocketType.Pull);
        using var push = context.CreateSocket(ZmqSocketType.Push);
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        pull.Bind(endpoint);
        push.Connect(endpoint);
        push.SetOption(ZmqOption.Linger, 0);
        pull.SetOption(ZmqOption.ReceiveTimeout, 5000);

        var big = new byte[1 << 20];
        new Random(3).NextBytes(big);
        push.Send("header"u8, more: true);
        push.Send(big, more: true);
        push.Send([], more: false);

        using var message = new ZmqMultipartMessage();
        Assert.True(pull.Receive(message));
        Assert.Equal(3, message.Count);
        Assert.Equal("header", Encoding.UTF8.GetString(message[0].Span));
        Assert.True(message[1].Span.SequenceEqual(big));
        Assert.Equal(0, message[2].Length);
        Assert.False(message[2].More);
    }

    [Fact]
    public void Receive_gives_up_after_the_receive_timeout_and_poll_says_nothing_is_there()
    {
        using var context = new ZmqContext();
        using var pull = context.CreateSocket(ZmqSocketType.Pull);
        pull.Bind($"tcp://127.0.0.1:{FreePort.Next()}");
        pull.SetOption(ZmqOption.ReceiveTimeout, 50);
        using var message = new ZmqMultipartMessage();
        Assert.False(pull.Receive(message));
        Assert.False(pull.Poll(ZmqPollEvents.In, TimeSpan.FromMilliseconds(20)));
        Assert.Equal(50, pull.GetOption(ZmqOption.ReceiveTimeout));
    }

    [Fact]
    public void A_bad_endpoint_raises_the_libzmq_error_text()
    {
        using var context = new ZmqContext();
        using var pull = context.CreateSocket(ZmqSocketType.Pull);
        var error = Assert.Throws<ZmqException>(() => pull.Bind("tcp://127.0.0.1:notaport"));
        Assert.Contains("bind tcp://127.0.0.1:notaport", error.Message);
        Assert.NotEqual(0, error.Errno);
    }

    [Fact]
    public void Pyzmq_push_reaches_our_pull_socket()
    {
        using var context = new ZmqContext();
        using var pull = context.CreateSocket(ZmqSocketType.Pull);
        var port = FreePort.Next();
        pull.Bind($"tcp://127.0.0.1:{port}");
        pull.SetOption(ZmqOption.ReceiveTimeout, 10_000);
        Python.Eval($$"""
            import zmq
            s = zmq.Context().socket(zmq.PUSH)
            s.connect("tcp://127.0.0.1:{{port}}")
            s.send_multipart([b'{"htype":"dseries_end-1.0","series":7}', bytes(range(256))])
            s.close(linger=-1)  # until delivered: a 5 s linger could end before a loaded machine connected
            """);
        using var message = new ZmqMultipartMessage();
        Assert.True(pull.Receive(message));
        Assert.Equal(2, message.Count);
        Assert.Contains("dseries_end", Encoding.UTF8.GetString(message[0].Span));
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), message[1].Span.ToArray());
    }
}
