using System.Buffers;
using Lima2.TestSupport;
using Lima2.Zmq;

namespace Lima2.Acquisition.Tests.Zmq;

/// <summary>Message parts held past their message: moved without a copy, bounded, released by their holder.</summary>
public sealed class ZmqHeldPartsTests : IDisposable
{
    private readonly ZmqContext _context = new();
    private readonly ZmqSocket _pull;
    private readonly ZmqSocket _push;

    public ZmqHeldPartsTests()
    {
        _pull = _context.CreateSocket(ZmqSocketType.Pull);
        _push = _context.CreateSocket(ZmqSocketType.Push);
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        _pull.Bind(endpoint);
        _push.Connect(endpoint);
        _push.SetOption(ZmqOption.Linger, 0);
        _pull.SetOption(ZmqOption.ReceiveTimeout, 5000);
    }

    public void Dispose()
    {
        _push.Dispose();
        _pull.Dispose();
        _context.Dispose();
    }

    private ZmqMultipartMessage Receive(byte[] payload)
    {
        _push.Send("fields"u8, more: true);
        _push.Send(payload);
        var message = new ZmqMultipartMessage();
        Assert.True(_pull.Receive(message));
        return message;
    }

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void A_large_part_is_moved_out_of_its_message_and_stays_readable_after_the_message_receives_again()
    {
        using var parts = new ZmqHeldParts(capacity: 2, partBytes: 1 << 20);
        var payload = Bytes(100_000);
        using var message = Receive(payload);
        var held = parts.Hold(message[1], 16, 50_000, CancellationToken.None);

        Assert.Equal(0, message[1].Length); // moved, not copied: the message no longer has the bytes
        _push.Send(Bytes(70_000));
        Assert.True(_pull.Receive(message)); // the message receives again while the part is held
        Assert.Equal(payload.AsSpan(16, 50_000).ToArray(), held.Memory.ToArray());
        Assert.Equal(1, parts.Held);
        ((IDisposable)held).Dispose();
        Assert.Equal(0, parts.Held);
    }

    [Fact]
    public void A_part_that_may_share_libzmqs_receive_buffer_or_is_bigger_than_a_held_part_gives_a_copy_of_the_bytes_wanted()
    {
        using var parts = new ZmqHeldParts(capacity: 2, partBytes: 10_000);
        var small = Bytes(ZmqHeldParts.SharedReceiveBufferBytes);
        using var first = Receive(small);
        using (var held = parts.Hold(first[1], 0, small.Length - 8, CancellationToken.None))
        {
            Assert.Equal(small.Length, first[1].Length); // copied: the message keeps its part
            Assert.Equal(small[..^8], held.Memory.ToArray());
        }
        var big = Bytes(20_000);
        using var second = Receive(big);
        using (var held = parts.Hold(second[1], 100, 4096, CancellationToken.None))
        {
            Assert.Equal(big.Length, second[1].Length);
            Assert.Equal(big.AsSpan(100, 4096).ToArray(), held.Memory.ToArray());
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => parts.Hold(second[1], 0, 10_001, CancellationToken.None));
        Assert.Equal(0, parts.Held);
    }

    [Fact]
    public void At_capacity_try_hold_fails_at_once_and_hold_waits_for_a_release()
    {
        using var parts = new ZmqHeldParts(capacity: 1, partBytes: 1 << 20);
        using var first = Receive(Bytes(30_000));
        using var second = Receive(Bytes(30_000));
        var held = parts.Hold(first[1], 0, 30_000, CancellationToken.None);

        Assert.Null(parts.TryHold(second[1], 0, 30_000));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.Throws<OperationCanceledException>(() => parts.Hold(second[1], 0, 30_000, cancel.Token));
        Assert.Equal(30_000, second[1].Length); // not taken

        ((IDisposable)held).Dispose();
        ((IDisposable)held).Dispose(); // a second release gives nothing back twice
        using var again = parts.TryHold(second[1], 0, 30_000);
        Assert.NotNull(again);
        Assert.Equal(1, parts.Held);
        Assert.Equal(1, parts.PeakHeld);
    }

    [Fact]
    public void A_part_held_when_its_set_is_disposed_stays_readable_until_released()
    {
        var parts = new ZmqHeldParts(capacity: 2, partBytes: 1 << 20);
        var payload = Bytes(40_000);
        using var message = Receive(payload);
        var held = parts.Hold(message[1], 0, payload.Length, CancellationToken.None);
        parts.Dispose();

        Assert.Equal(payload, held.Memory.ToArray());
        ((IDisposable)held).Dispose();
        Assert.Equal(0, parts.Held);
        using var next = Receive(payload);
        Assert.Throws<ObjectDisposedException>(() => parts.TryHold(next[1], 0, 10));
    }
}
