using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>
/// Every Lima2 device: whatever fails in its attributes, commands, State or Init reaches the client as Lima2's
/// LIMA_Exception (<see cref="LimaFailure"/>), its trace in the server log.
/// </summary>
public abstract class LimaDevice : Device
{
    protected override Exception OnError(Exception error, string member) => LimaFailure.From(error, $"{Name}/{member}");
}
