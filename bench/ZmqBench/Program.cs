// NetMQ 4.0.4.5 against Lima2.Zmq (Debian's libzmq) receiving DECTRIS-V1-shaped multipart messages over loopback TCP:
// a JSON part, the image header, the payload (8 MB raw or 2.7 MB bslz4 of a 4 Mpx uint16 frame) and a config part.
// The senders are libzmq PUSH sockets (one thread per receiver, each its own endpoint), the same for both receivers;
// rounds interleave the receivers so that the machine's load falls on both alike.
// Usage: dotnet run -c Release --project bench/ZmqBench -- [messages per case] [rounds]
using System.Diagnostics;
using System.Globalization;
using Lima2.Zmq;
using ZmqSocketType = Lima2.Zmq.ZmqSocketType;
using NetMQ;
using NetMQ.Sockets;

var messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var payloads = new (string Name, int Bytes)[] { ("raw 8 MB", 2048 * 2048 * 2), ("bslz4 2.7 MB", 2_700_000) };
var receivers = new[] { 1, 2 };
var kinds = new[] { "libzmq (Lima2.Zmq)", "NetMQ, GC buffers", "NetMQ, pooled buffers" };
var results = new Dictionary<(string Kind, string Payload, int Receivers), List<(double Rate, double Alloc, int Gcs)>>();
Console.WriteLine($"{Environment.ProcessorCount} cores, load {Load()} at the start; {messages} messages per case, {rounds} rounds");
for (var round = 0; round < rounds; round++)
    foreach (var payload in payloads)
        foreach (var n in receivers)
            foreach (var kind in round % 2 == 0 ? kinds : kinds.Reverse().ToArray())
            {
                var result = Case(kind, payload.Bytes, n, messages);
                if (!results.TryGetValue((kind, payload.Name, n), out var list))
                    results[(kind, payload.Name, n)] = list = [];
                list.Add(result);
            }
Console.WriteLine($"load {Load()} at the end");
Console.WriteLine("| receiver | payload | receivers | messages/s (median of rounds) | GB/s | vs libzmq | managed bytes allocated per message | gen0+ GCs per 100 messages |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
foreach (var payload in payloads)
    foreach (var n in receivers)
    {
        var reference = Median(results[(kinds[0], payload.Name, n)].Select(r => r.Rate));
        foreach (var kind in kinds)
        {
            var list = results[(kind, payload.Name, n)];
            var rate = Median(list.Select(r => r.Rate));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {kind} | {payload.Name} | {n} | {rate:F0} | {rate * payload.Bytes / 1e9:F2} | {rate / reference * 100:F0} % | {Median(list.Select(r => r.Alloc)):F0} | {Median(list.Select(r => (double)r.Gcs)) * 100 / messages / n:F1} |"));
        }
    }
NetMQConfig.Cleanup(block: false);
return;

static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted[sorted.Length / 2];
}

// One case: n senders → n receivers of `kind`, each receiver taking `messages` messages; messages/s over all receivers.
static (double Rate, double Alloc, int Gcs) Case(string kind, int payloadBytes, int n, int messages)
{
    var header = "{\"htype\":\"dimage-1.0\",\"series\":1,\"frame\":0,\"hash\":\"\"}"u8.ToArray();
    var detail = "{\"htype\":\"dimage_d-1.0\",\"shape\":[2048,2048],\"type\":\"uint16\",\"encoding\":\"bs16-lz4<\",\"size\":0}"u8.ToArray();
    var config = "{\"htype\":\"dconfig-1.0\",\"start_time\":0,\"stop_time\":0,\"real_time\":0}"u8.ToArray();
    var payload = new byte[payloadBytes];
    new Random(1).NextBytes(payload);
    using var context = new ZmqContext();
    var endpoints = Enumerable.Range(0, n).Select(_ => $"tcp://127.0.0.1:{FreePort()}").ToArray();
    var senders = endpoints.Select(endpoint =>
    {
        var push = context.CreateSocket(ZmqSocketType.Push);
        push.SetOption(ZmqOption.SendHighWaterMark, 2);
        push.SetOption(ZmqOption.Linger, 0);
        push.Bind(endpoint);
        return push;
    }).ToArray();
    if (kind.Contains("pooled", StringComparison.Ordinal))
        BufferPool.SetBufferManagerBufferPool(1L << 30, 16 << 20);
    else
        BufferPool.SetGCBufferPool();
    using var ready = new CountdownEvent(n);
    using var go = new ManualResetEventSlim();
    var checksum = 0L;
    var receiveThreads = endpoints.Select(endpoint => new Thread(() =>
    {
        var sum = kind.StartsWith("libzmq", StringComparison.Ordinal)
            ? ReceiveLibzmq(context, endpoint, messages, ready)
            : ReceiveNetMq(endpoint, messages, ready);
        Interlocked.Add(ref checksum, sum);
    })).ToArray();
    foreach (var thread in receiveThreads)
        thread.Start();
    ready.Wait();
    Thread.Sleep(200); // connections up
    var allocated = GC.GetTotalAllocatedBytes(precise: true);
    var gcs = GC.CollectionCount(0);
    var clock = Stopwatch.StartNew();
    var sendThreads = senders.Select(push => new Thread(() =>
    {
        for (var i = 0; i < messages; i++)
        {
            push.Send(header, more: true);
            push.Send(detail, more: true);
            push.Send(payload, more: true);
            push.Send(config);
        }
    })).ToArray();
    foreach (var thread in sendThreads)
        thread.Start();
    foreach (var thread in receiveThreads)
        thread.Join();
    var seconds = clock.Elapsed.TotalSeconds;
    var alloc = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)(messages * n);
    gcs = GC.CollectionCount(0) - gcs;
    foreach (var thread in sendThreads)
        thread.Join();
    foreach (var push in senders)
        push.Dispose();
    if (checksum != (long)n * messages * (header.Length + detail.Length + payload.Length + config.Length))
        throw new InvalidOperationException($"{kind}: received {checksum} bytes");
    return (n * messages / seconds, alloc, gcs);
}

static long ReceiveLibzmq(ZmqContext context, string endpoint, int messages, CountdownEvent ready)
{
    using var pull = context.CreateSocket(ZmqSocketType.Pull);
    pull.SetOption(ZmqOption.ReceiveHighWaterMark, 2);
    pull.SetOption(ZmqOption.ReceiveTimeout, 10_000);
    pull.SetOption(ZmqOption.Linger, 0);
    pull.Connect(endpoint);
    using var message = new ZmqMultipartMessage();
    ready.Signal();
    long bytes = 0;
    for (var i = 0; i < messages; i++)
    {
        if (!pull.Receive(message))
            throw new TimeoutException($"libzmq: message {i} did not come");
        for (var p = 0; p < message.Count; p++)
            bytes += message[p].Span.Length;
    }
    return bytes;
}

static long ReceiveNetMq(string endpoint, int messages, CountdownEvent ready)
{
    using var pull = new PullSocket();
    pull.Options.ReceiveHighWatermark = 2;
    pull.Options.Linger = TimeSpan.Zero;
    pull.Connect(endpoint);
    var msg = new Msg();
    msg.InitEmpty();
    ready.Signal();
    long bytes = 0;
    for (var i = 0; i < messages; i++)
    {
        do
        {
            if (!pull.TryReceive(ref msg, TimeSpan.FromSeconds(10)))
                throw new TimeoutException($"NetMQ: message {i} did not come");
            bytes += msg.Size;
        } while (msg.HasMore);
    }
    msg.Close();
    return bytes;
}

static int FreePort()
{
    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}
