using Tango;
using Tango.Server;

namespace TangoNetTest;

/// <summary>A class with a mandatory device property: its devices start only when the Tango DB sets Address.</summary>
[TangoClass("TangoNetConfigured")]
public sealed class TangoNetConfiguredDevice : Device
{
    [DeviceProperty(Mandatory = true, Description = "Where the (imaginary) hardware answers")]
    public string Address { get; set; } = "";

    [Attr("address", Description = "The Address device property")] public string AddressAttr => Address;

    protected override void Init() => State = DevState.On;
}
