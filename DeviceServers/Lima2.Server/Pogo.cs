using System.Security;
using System.Text;
using Tango;
using Tango.Server;

namespace Lima2.Server;

/// <summary>
/// Pogo XMI descriptions of the device classes (commands, attributes, properties, as Pogo 9 writes them), made
/// from the same declarations the server registers: <c>Lima2Server --pogo pogo/</c>.
/// </summary>
public static class Pogo
{
    public static int Write(string folder, IEnumerable<Type> classes, TextWriter output)
    {
        Directory.CreateDirectory(folder);
        foreach (var type in classes)
        {
            var spec = ClassSpec.From(type);
            var path = Path.Combine(folder, $"{spec.Name}.xmi");
            File.WriteAllText(path, Xmi(spec), new UTF8Encoding(false));
            output.WriteLine(path);
        }
        return 0;
    }

    /// <summary>Pogo's name for a Tango type (pogoDsl:IntType is DevLong, LongType DevLong64).</summary>
    public static string TypeName(TangoType type) => type switch
    {
        TangoType.DevVoid => "VoidType",
        TangoType.DevBoolean => "BooleanType",
        TangoType.DevShort => "ShortType",
        TangoType.DevLong => "IntType",
        TangoType.DevLong64 => "LongType",
        TangoType.DevFloat => "FloatType",
        TangoType.DevDouble => "DoubleType",
        TangoType.DevUShort => "UShortType",
        TangoType.DevULong => "UIntType",
        TangoType.DevULong64 => "ULongType",
        TangoType.DevUChar => "UCharType",
        TangoType.DevString => "StringType",
        TangoType.DevVarStringArray => "StringArrayType",
        TangoType.DevVarLongArray => "IntArrayType",
        TangoType.DevVarLong64Array => "LongArrayType",
        TangoType.DevVarDoubleArray => "DoubleArrayType",
        TangoType.DevState => "StateType",
        TangoType.DevEncoded => "EncodedType",
        TangoType.DevEnum => "EnumType",
        _ => throw new NotSupportedException($"no Pogo type for {type}"),
    };

    private static string PropertyType(Type t) =>
        t == typeof(string[]) ? "StringVectorType"
        : t == typeof(string) ? "StringType"
        : t == typeof(int) ? "IntType"
        : t == typeof(bool) ? "BooleanType"
        : t == typeof(double) ? "DoubleType"
        : throw new NotSupportedException($"no Pogo property type for {t}");

    private static string E(string? s) => SecurityElement.Escape(s ?? "");

    private const string Status = """<status abstract="false" inherited="false" concrete="true" concreteHere="true"/>""";

    private static string Xmi(ClassSpec spec)
    {
        var x = new StringBuilder();
        x.AppendLine("""<?xml version="1.0" encoding="ASCII"?>""");
        x.AppendLine("""<pogoDsl:PogoSystem xmi:version="2.0" xmlns:xmi="http://www.omg.org/XMI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:pogoDsl="http://www.esrf.fr/tango/pogo/PogoDsl">""");
        x.AppendLine($"""  <classes name="{spec.Name}" pogoRevision="9.6">""");
        x.AppendLine($"""    <description description="Lima2 {E(spec.Name)} (C#, Lima2Server)" title="{E(spec.Name)}" sourcePath="DeviceServers/Lima2.Server" language="Cpp" filestogenerate="XMI   file" license="GPL" hasMandatoryProperty="false" hasConcreteProperty="true" hasAbstractCommand="false" hasAbstractAttribute="false">""");
        x.AppendLine("""      <inheritances classname="Device_Impl" sourcePath=""/>""");
        x.AppendLine("""      <identification contact="at esrf.fr - lima2" author="lima2" emailDomain="esrf.fr" classFamily="Acquisition" siteSpecific="" platform="Unix Like" bus="Not Applicable" manufacturer="none" reference=""/>""");
        x.AppendLine("    </description>");
        foreach (var p in spec.Properties)
        {
            var tag = p.IsClassProperty ? "classProperties" : "deviceProperties";
            x.AppendLine($"""    <{tag} name="{E(p.Name)}" description="">""");
            x.AppendLine($"""      <type xsi:type="pogoDsl:{PropertyType(p.Property.PropertyType)}"/>""");
            x.AppendLine($"      {Status}");
            x.AppendLine($"    </{tag}>");
        }
        foreach (var (c, _) in spec.Commands)
        {
            x.AppendLine($"""    <commands name="{E(c.Name)}" description="" execMethod="{E(Snake(c.Name))}" displayLevel="{c.DisplayLevel.ToString().ToUpperInvariant()}" polledPeriod="{c.PollingPeriod}">""");
            x.AppendLine($"""      <argin description="{E(c.InDescription)}">""");
            x.AppendLine($"""        <type xsi:type="pogoDsl:{TypeName(c.InType)}"/>""");
            x.AppendLine("      </argin>");
            x.AppendLine($"""      <argout description="{E(c.OutDescription)}">""");
            x.AppendLine($"""        <type xsi:type="pogoDsl:{TypeName(c.OutType)}"/>""");
            x.AppendLine("      </argout>");
            x.AppendLine($"      {Status}");
            x.AppendLine("    </commands>");
        }
        foreach (var (a, _) in spec.Attributes)
        {
            var attType = a.Format switch { AttrDataFormat.Spectrum => "Spectrum", AttrDataFormat.Image => "Image", _ => "Scalar" };
            var rw = a.Access switch { AttrWriteType.ReadWrite => "READ_WRITE", AttrWriteType.Write => "WRITE", AttrWriteType.ReadWithWrite => "READ_WITH_WRITE", _ => "READ" };
            var maxX = a.Format == AttrDataFormat.Scalar ? "" : a.MaxX.ToString();
            x.AppendLine($"""    <attributes name="{E(a.Name)}" attType="{attType}" rwType="{rw}" displayLevel="{a.DisplayLevel.ToString().ToUpperInvariant()}" polledPeriod="{a.PollingPeriod}" maxX="{maxX}" maxY="" allocReadMember="true" isDynamic="false">""");
            x.AppendLine($"""      <dataType xsi:type="pogoDsl:{TypeName(a.Type)}"/>""");
            x.AppendLine($"""      <changeEvent fire="{Lower(a.PushChangeEvent)}" libCheckCriteria="{Lower(a.CheckChangeCriteria)}"/>""");
            x.AppendLine($"""      <archiveEvent fire="{Lower(a.PushArchiveEvent)}" libCheckCriteria="{Lower(a.CheckArchiveCriteria)}"/>""");
            x.AppendLine($"""      <dataReadyEvent fire="{Lower(a.DataReadyEvent)}" libCheckCriteria="true"/>""");
            x.AppendLine($"      {Status}");
            var props = a.Properties.ToDictionary(p => p.Key, p => p.Value);
            x.AppendLine($"""      <properties description="{E(props.GetValueOrDefault("description"))}" label="" unit="{E(props.GetValueOrDefault("unit"))}" standardUnit="" displayUnit="" format="{E(props.GetValueOrDefault("format"))}" maxValue="" minValue="" maxAlarm="" minAlarm="" maxWarning="" minWarning="" deltaTime="" deltaValue=""/>""");
            foreach (var label in a.EnumLabels)
                x.AppendLine($"      <enumLabels>{E(label)}</enumLabels>");
            x.AppendLine("    </attributes>");
        }
        foreach (var state in new[] { "ON", "STANDBY", "RUNNING", "FAULT", "OFF" })
            x.AppendLine($"""    <states name="{state}" description="">{Status}</states>""");
        x.AppendLine("""    <preferences docHome="./doc_html" makefileHome="/usr/share/pogo/preferences"/>""");
        x.AppendLine("  </classes>");
        x.AppendLine("</pogoDsl:PogoSystem>");
        return x.ToString();
    }

    private static string Lower(bool b) => b ? "true" : "false";

    private static string Snake(string name) => string.Concat(name.Select((ch, i) =>
        char.IsUpper(ch) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(ch) : ch.ToString()));
}
