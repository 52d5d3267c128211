using System.Diagnostics;

namespace Lima2.Server.Control;

/// <summary>
/// Asks a receiver again while it is busy (<see cref="ReceiverBusyException"/>), for up to a bound: a receiver
/// busy preparing is not a dead one, and must not make the control FAULT. Past the bound, or on any other failure,
/// the call fails as the link's did.
/// </summary>
public sealed class PatientReceiverLink(IReceiverLink link, TimeSpan patience) : IReceiverLink
{
    /// <summary>How long the control waits for a busy receiver by default: longer than a cold OpenCL build.</summary>
    public static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    public string Name => link.Name;

    public ReceiverSnapshot Read() => Patiently(link.Read);

    public string LastError() => Patiently(link.LastError);

    public void Start() => Patiently(link.Start);

    public void Stop() => Patiently(link.Stop);

    public void Trigger() => Patiently(link.Trigger);

    public void Reset() => Patiently(link.Reset);

    public string WriteMasterFile(long[] savedPerReceiver) => Patiently(() => link.WriteMasterFile(savedPerReceiver));

    public string WriteRawMasterFile(long[] savedPerReceiver) => Patiently(() => link.WriteRawMasterFile(savedPerReceiver));

    public void Dispose() => link.Dispose();

    private void Patiently(Action call) => Patiently(() =>
    {
        call();
        return true;
    });

    private T Patiently<T>(Func<T> call)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return call();
            }
            catch (ReceiverBusyException e)
            {
                if (waited.Elapsed >= patience)
                    throw new ReceiverBusyException($"busy for more than {patience.TotalSeconds:0.#} s ({e.Message})", e);
                Thread.Sleep(Pause); // the request was not carried out: asking again is safe
            }
        }
    }
}
