using System.Globalization;
using System.Reflection;
using System.Xml.Linq;

namespace Tango.Server;

/// <summary>
/// A Pogo description (.xmi) of a C# Tango class, built from the same declarations the server uses, for Pogo,
/// the Device Classes Catalogue and documentation. It describes the interface only: the code is the C# class.
/// </summary>
public static class PogoXmi
{
    private static readonly XNamespace Xmi = "http://www.omg.org/XMI";
    private static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";
    private static readonly XNamespace Pogo = "http://www.esrf.fr/tango/pogo/PogoDsl";

    /// <summary>The .xmi text for <paramref name="deviceType"/>. Property defaults come from a fresh instance.</summary>
    /// <param name="sourcePath">the folder of the class's source, for the reader</param>
    /// <param name="states">the states a device of the class takes, listed with those its allowed states name</param>
    public static string Generate(Type deviceType, string family = "Miscellaneous", string description = "",
        string sourcePath = "", IEnumerable<DevState>? states = null)
    {
        var spec = ClassSpec.From(deviceType);
        var defaults = (Device)Activator.CreateInstance(deviceType)!;
        var cls = new XElement("classes", new XAttribute("name", spec.Name), new XAttribute("pogoRevision", "9.6"),
            new XElement("description",
                new XAttribute("description", description),
                new XAttribute("title", spec.Name),
                new XAttribute("sourcePath", sourcePath),
                new XAttribute("language", "Cpp"),
                new XAttribute("filestogenerate", ""),
                new XAttribute("license", "LGPL"), // the project's licence (docs/LICENSING.md), in Pogo's words
                new XAttribute("hasMandatoryProperty", "false"),
                new XAttribute("hasConcreteProperty", spec.Properties.Count > 0 ? "true" : "false"),
                new XAttribute("hasAbstractCommand", "false"),
                new XAttribute("hasAbstractAttribute", "false"),
                new XElement("inheritances", new XAttribute("classname", "Device_Impl"), new XAttribute("sourcePath", "")),
                new XElement("identification",
                    new XAttribute("contact", ""), new XAttribute("author", ""), new XAttribute("emailDomain", ""),
                    new XAttribute("classFamily", family), new XAttribute("siteSpecific", ""),
                    new XAttribute("platform", "Unix Like"), new XAttribute("bus", "Not Applicable"),
                    new XAttribute("manufacturer", "none"), new XAttribute("reference", ""))));

        foreach (var p in spec.Properties.OrderBy(p => p.IsClassProperty))
            cls.Add(Property(p, defaults));
        foreach (var (c, _) in spec.Commands.OrderBy(c => c.Spec.Name, StringComparer.Ordinal))
            cls.Add(Command(c));
        foreach (var (a, _) in spec.Attributes)
            cls.Add(Attribute(a));
        var named = spec.Attributes.SelectMany(a => a.Spec.AllowedStates)
            .Concat(spec.Commands.SelectMany(c => c.Spec.AllowedStates)).Concat(states ?? []).Distinct().Order();
        foreach (var s in named)
            cls.Add(new XElement("states", new XAttribute("name", StateName(s)), new XAttribute("description", ""), Status()));
        cls.Add(new XElement("preferences", new XAttribute("docHome", "./doc_html"),
            new XAttribute("makefileHome", "/usr/share/pogo/preferences")));

        var root = new XElement(Pogo + "PogoSystem",
            new XAttribute(Xmi + "version", "2.0"),
            new XAttribute(XNamespace.Xmlns + "xmi", Xmi),
            new XAttribute(XNamespace.Xmlns + "xsi", Xsi),
            new XAttribute(XNamespace.Xmlns + "pogoDsl", Pogo),
            cls);
        return "<?xml version=\"1.0\" encoding=\"ASCII\"?>\n" + root + "\n";
    }

    private static XElement Property(PropertySpec p, Device defaults)
    {
        var e = new XElement(p.IsClassProperty ? "classProperties" : "deviceProperties",
            new XAttribute("name", p.Name), new XAttribute("description", p.Description),
            Type("type", PropertyType(p.Property.PropertyType)), Status());
        foreach (var v in p.DefaultValues(defaults))
            e.Add(new XElement("DefaultPropValue", v));
        return e;
    }

    private static XElement Command(CommandSpec c)
    {
        var e = new XElement("commands",
            new XAttribute("name", c.Name), new XAttribute("description", c.Description),
            new XAttribute("execMethod", Snake(c.Name)), new XAttribute("displayLevel", Level(c.DisplayLevel)),
            new XAttribute("polledPeriod", c.PollingPeriod),
            new XElement("argin", new XAttribute("description", c.InDescription), Type("type", TypeName(c.InType))),
            new XElement("argout", new XAttribute("description", c.OutDescription), Type("type", TypeName(c.OutType))),
            Status());
        foreach (var s in Excluded(c.AllowedStates))
            e.Add(new XElement("excludedStates", s));
        return e;
    }

    private static XElement Attribute(AttributeSpec a)
    {
        string Prop(string key) => a.Properties.FirstOrDefault(p => p.Key == key).Value ?? "";
        var e = new XElement("attributes",
            new XAttribute("name", a.Name),
            new XAttribute("attType", a.Format.ToString()),
            new XAttribute("rwType", a.Access switch
            {
                AttrWriteType.Read => "READ",
                AttrWriteType.Write => "WRITE",
                AttrWriteType.ReadWrite => "READ_WRITE",
                _ => "READ_WITH_WRITE",
            }),
            new XAttribute("displayLevel", Level(a.DisplayLevel)),
            new XAttribute("polledPeriod", a.PollingPeriod),
            new XAttribute("maxX", a.Format == AttrDataFormat.Scalar ? "" : a.MaxX.ToString(CultureInfo.InvariantCulture)),
            new XAttribute("maxY", a.Format == AttrDataFormat.Image ? a.MaxY.ToString(CultureInfo.InvariantCulture) : ""),
            new XAttribute("memorized", a.Memorized != Memorization.None ? "true" : "false"),
            new XAttribute("memorizedAtInit", a.Memorized == Memorization.MemorizedWrittenAtInit ? "true" : "false"),
            new XAttribute("allocReadMember", "false"),
            new XAttribute("isDynamic", "false"),
            Type("dataType", TypeName(a.Type)),
            Event("changeEvent", a.PushChangeEvent, a.CheckChangeCriteria),
            Event("archiveEvent", a.PushArchiveEvent, a.CheckArchiveCriteria),
            Event("dataReadyEvent", a.DataReadyEvent, true),
            Status(),
            new XElement("properties",
                new XAttribute("description", Prop("description")), new XAttribute("label", Prop("label")),
                new XAttribute("unit", Prop("unit")), new XAttribute("standardUnit", Prop("standard_unit")),
                new XAttribute("displayUnit", Prop("display_unit")), new XAttribute("format", Prop("format")),
                new XAttribute("maxValue", Prop("max_value")), new XAttribute("minValue", Prop("min_value")),
                new XAttribute("maxAlarm", Prop("max_alarm")), new XAttribute("minAlarm", Prop("min_alarm")),
                new XAttribute("maxWarning", Prop("max_warning")), new XAttribute("minWarning", Prop("min_warning")),
                new XAttribute("deltaTime", Prop("delta_t")), new XAttribute("deltaValue", Prop("delta_val"))));
        foreach (var s in Excluded(a.AllowedStates))
        {
            e.Add(new XElement("readExcludedStates", s));
            e.Add(new XElement("writeExcludedStates", s));
        }
        foreach (var label in a.EnumLabels)
            e.Add(new XElement("enumLabels", label));
        return e;
    }

    /// <summary>Pogo's name for a Tango data type (pogoDsl:...Type).</summary>
    public static string TypeName(TangoType type) => type switch
    {
        TangoType.DevVoid => "VoidType",
        TangoType.DevBoolean => "BooleanType",
        TangoType.DevUChar => "UCharType",
        TangoType.DevShort => "ShortType",
        TangoType.DevUShort => "UShortType",
        TangoType.DevLong => "IntType",
        TangoType.DevULong => "UIntType",
        TangoType.DevLong64 => "LongType",
        TangoType.DevULong64 => "ULongType",
        TangoType.DevFloat => "FloatType",
        TangoType.DevDouble => "DoubleType",
        TangoType.DevString => "StringType",
        TangoType.DevState => "StateType",
        TangoType.DevEncoded => "EncodedType",
        TangoType.DevEnum => "EnumType",
        TangoType.DevVarCharArray => "CharArrayType",
        TangoType.DevVarBooleanArray => "BooleanArrayType",
        TangoType.DevVarShortArray => "ShortArrayType",
        TangoType.DevVarUShortArray => "UShortArrayType",
        TangoType.DevVarLongArray => "IntArrayType",
        TangoType.DevVarULongArray => "UIntArrayType",
        TangoType.DevVarLong64Array => "LongArrayType",
        TangoType.DevVarULong64Array => "ULongArrayType",
        TangoType.DevVarFloatArray => "FloatArrayType",
        TangoType.DevVarDoubleArray => "DoubleArrayType",
        TangoType.DevVarStringArray => "StringArrayType",
        TangoType.DevVarLongStringArray => "LongStringArrayType",
        TangoType.DevVarDoubleStringArray => "DoubleStringArrayType",
        _ => throw new NotSupportedException($"{type} has no Pogo type"),
    };

    private static string PropertyType(Type t)
    {
        if (t == typeof(string[]))
            return "StringVectorType";
        if (t.IsArray)
            return TypeName(TypeMap.ForAttribute(t.GetElementType()!).Type).Replace("Type", "VectorType", StringComparison.Ordinal);
        return t.IsEnum ? "StringType" : TypeName(TypeMap.ForAttribute(t).Type);
    }

    private static XElement Type(string element, string pogoType) =>
        new(element, new XAttribute(Xsi + "type", "pogoDsl:" + pogoType));

    private static XElement Event(string name, bool fire, bool check) =>
        new(name, new XAttribute("fire", fire ? "true" : "false"), new XAttribute("libCheckCriteria", check ? "true" : "false"));

    private static XElement Status() =>
        new("status", new XAttribute("abstract", "false"), new XAttribute("inherited", "false"),
            new XAttribute("concrete", "true"), new XAttribute("concreteHere", "true"));

    private static IEnumerable<string> Excluded(IReadOnlyList<DevState> allowed) =>
        allowed.Count == 0 ? [] : Enum.GetValues<DevState>().Except(allowed).Select(StateName);

    private static string StateName(DevState s) => s.ToString().ToUpperInvariant();

    private static string Level(DispLevel level) => level == DispLevel.Expert ? "EXPERT" : "OPERATOR";

    private static string Snake(string name) =>
        string.Concat(name.Select((ch, i) => i > 0 && char.IsUpper(ch) && !char.IsUpper(name[i - 1]) ? "_" + char.ToLowerInvariant(ch) : char.ToLowerInvariant(ch).ToString()));
}
