using Tango;
using Tango.Server;

return TangoServer.Run(args, typeof(Motor));          // server name = executable name, as Starter expects

[TangoClass("Motor")]
public sealed class Motor : Device
{
    [DeviceProperty] public double Speed { get; set; } = 1.0;       // from the Tango DB at each init; default here

    [Attr(Unit = "mm", Format = "%8.3f", MinValue = -100, MaxValue = 100, Memorized = true)]
    public double Position { get; set; }                             // a setter makes it READ_WRITE

    [Attr(PushChangeEvent = true)] public int Moves { get; private set; }          // no public setter: READ

    protected override void Init() { State = DevState.On; Status = "ready"; }     // init_device

    [Command(AllowedStates = [DevState.On])]
    public void Home() { Position = 0; PushChangeEvent("Moves", ++Moves); Logger.Info("homed"); }
}
