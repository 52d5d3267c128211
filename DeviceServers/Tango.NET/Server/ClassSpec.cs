using System.Globalization;
using System.Reflection;

namespace Tango.Server;

/// <summary>Whether a written value is stored in the Tango DB, and written back to the device at start-up.</summary>
public enum Memorization
{
    None,
    Memorized,
    MemorizedWrittenAtInit,
}

/// <summary>One Tango attribute as cppTango will be told about it.</summary>
public sealed record AttributeSpec
{
    public required string Name { get; init; }
    public required Type ClrType { get; init; }
    public required TangoType Type { get; init; }
    public required AttrDataFormat Format { get; init; }
    public required AttrWriteType Access { get; init; }
    public int MaxX { get; init; }
    public int MaxY { get; init; }
    public DispLevel DisplayLevel { get; init; }
    public Memorization Memorized { get; init; }
    public IReadOnlyList<DevState> AllowedStates { get; init; } = [];
    public bool PushChangeEvent { get; init; }
    public bool CheckChangeCriteria { get; init; }
    public bool PushArchiveEvent { get; init; }
    public bool CheckArchiveCriteria { get; init; }
    public bool DataReadyEvent { get; init; }
    public int PollingPeriod { get; init; }
    public string? WriteAttribute { get; init; }
    /// <summary>Tango attribute properties by cppTango name (label, unit, min_value, ...).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Properties { get; init; } = [];
    public IReadOnlyList<string> EnumLabels { get; init; } = [];

    /// <summary>Describes an attribute of type <paramref name="clr"/> with the options of <paramref name="options"/>.</summary>
    public static AttributeSpec Create(string name, Type clr, bool readable, bool writable, AttrAttribute? options)
    {
        options ??= new AttrAttribute();
        var (type, format) = TypeMap.ForAttribute(clr);
        var access = options.WriteOnly || !readable ? AttrWriteType.Write
            : options.WriteAttribute is not null ? AttrWriteType.ReadWithWrite
            : writable ? AttrWriteType.ReadWrite : AttrWriteType.Read;
        if (clr.IsGenericType && access != AttrWriteType.Read
            && (clr.GetGenericTypeDefinition() == typeof(SharedImage<>) || clr.GetGenericTypeDefinition() == typeof(AttrValue<>)))
            throw new ArgumentException($"attribute {name}: a {clr.Name} is read-only");
        if (access == AttrWriteType.Write && !writable)
            throw new ArgumentException($"attribute {name} is write-only but has no setter");
        var props = new List<KeyValuePair<string, string>>();
        void Add(string key, object? value)
        {
            if (value is not null)
                props.Add(new(key, Convert.ToString(value, CultureInfo.InvariantCulture)!));
        }
        Add("label", options.Label);
        Add("description", options.Description);
        Add("unit", options.Unit);
        Add("standard_unit", options.StandardUnit);
        Add("display_unit", options.DisplayUnit);
        Add("format", options.Format);
        Add("min_value", options.MinValue);
        Add("max_value", options.MaxValue);
        Add("min_alarm", options.MinAlarm);
        Add("max_alarm", options.MaxAlarm);
        Add("min_warning", options.MinWarning);
        Add("max_warning", options.MaxWarning);
        Add("delta_t", options.DeltaT);
        Add("delta_val", options.DeltaVal);
        Add("abs_change", options.AbsChange);
        Add("rel_change", options.RelChange);
        Add("period", options.EventPeriod);
        Add("archive_abs_change", options.ArchiveAbsChange);
        Add("archive_rel_change", options.ArchiveRelChange);
        Add("archive_period", options.ArchivePeriod);
        return new AttributeSpec
        {
            Name = name,
            ClrType = clr,
            Type = type,
            Format = format,
            Access = access,
            MaxX = format == AttrDataFormat.Scalar ? 1 : options.MaxX > 0 ? options.MaxX : format == AttrDataFormat.Spectrum ? 4096 : 1024,
            MaxY = format == AttrDataFormat.Image ? (options.MaxY > 0 ? options.MaxY : 1024) : 0,
            DisplayLevel = options.DisplayLevel,
            Memorized = !options.Memorized ? Memorization.None
                : options.MemorizedInit ? Memorization.MemorizedWrittenAtInit : Memorization.Memorized,
            AllowedStates = options.AllowedStates ?? [],
            PushChangeEvent = options.PushChangeEvent,
            CheckChangeCriteria = options.CheckChangeCriteria,
            PushArchiveEvent = options.PushArchiveEvent,
            CheckArchiveCriteria = options.CheckArchiveCriteria,
            DataReadyEvent = options.DataReadyEvent,
            PollingPeriod = options.PollingPeriod,
            WriteAttribute = options.WriteAttribute,
            Properties = props,
            EnumLabels = type == TangoType.DevEnum ? EnumLabelsOf(clr) : [],
        };
    }

    /// <summary>DevEnum labels are the enum's names; Tango numbers them 0..n-1, so the values must be too.</summary>
    private static string[] EnumLabelsOf(Type enumType)
    {
        var values = Enum.GetValues(enumType).Cast<object>().Select(Convert.ToInt64).Order().ToArray();
        if (!values.SequenceEqual(Enumerable.Range(0, values.Length).Select(i => (long)i)))
            throw new NotSupportedException($"{enumType}: a DevEnum's values must be 0, 1, 2, ...");
        return values.Select(v => Enum.GetName(enumType, Enum.ToObject(enumType, v))!).ToArray();
    }
}

/// <summary>One Tango command.</summary>
public sealed record CommandSpec
{
    public required string Name { get; init; }
    public required TangoType InType { get; init; }
    public required TangoType OutType { get; init; }
    public required Type InClr { get; init; }
    public required Type OutClr { get; init; }
    public string Description { get; init; } = "";
    public string InDescription { get; init; } = "";
    public string OutDescription { get; init; } = "";

    /// <summary>What a client reads as the argin description: a void argin says what the command does.</summary>
    public string ClientInDescription => InType == TangoType.DevVoid && InDescription == "" ? Description : InDescription;

    /// <summary>What a client reads as the argout description: a void argout says what the command does.</summary>
    public string ClientOutDescription => OutType == TangoType.DevVoid && OutDescription == "" ? Description : OutDescription;
    public DispLevel DisplayLevel { get; init; }
    public IReadOnlyList<DevState> AllowedStates { get; init; } = [];
    public int PollingPeriod { get; init; }
    public bool ReleasesMonitor { get; init; }
}

/// <summary>A device or class property bound to a C# property.</summary>
public sealed record PropertySpec(string Name, PropertyInfo Property, bool IsClassProperty, bool Mandatory = false,
    string Description = "")
{
    /// <summary>The default value(s) as the Tango DB would hold them: the initializer's, read from <paramref name="device"/>.</summary>
    public IReadOnlyList<string> DefaultValues(Device device) => Property.GetValue(device) switch
    {
        null => [],
        string s => [s],
        Array a => a.Cast<object>().Select(Invariant).ToArray(),
        var v => [Invariant(v)],
    };

    private static string Invariant(object v) => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
}

/// <summary>What reflection finds on a <see cref="Device"/> subclass: the Tango class it declares.</summary>
public sealed class ClassSpec
{
    public required string Name { get; init; }
    public required Type DeviceType { get; init; }
    public required IReadOnlyList<(AttributeSpec Spec, PropertyInfo Property)> Attributes { get; init; }
    public required IReadOnlyList<(CommandSpec Spec, MethodInfo Method)> Commands { get; init; }
    public required IReadOnlyList<PropertySpec> Properties { get; init; }
    /// <summary>Methods <c>bool Is&lt;Name&gt;Allowed()</c>, by Tango attribute or command name.</summary>
    public required IReadOnlyDictionary<string, MethodInfo> AllowedMethods { get; init; }
    public bool OverridesState { get; init; }
    public bool OverridesStatus { get; init; }

    private const BindingFlags Members = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    public static ClassSpec From(Type deviceType)
    {
        if (!typeof(Device).IsAssignableFrom(deviceType) || deviceType.IsAbstract)
            throw new ArgumentException($"{deviceType} is not a concrete Tango.Server.Device");
        if (deviceType.GetConstructor(Type.EmptyTypes) is null)
            throw new ArgumentException($"{deviceType} needs a parameterless constructor");
        var name = deviceType.GetCustomAttribute<TangoClassAttribute>()?.Name ?? deviceType.Name;

        var attributes = new List<(AttributeSpec, PropertyInfo)>();
        var properties = new List<PropertySpec>();
        foreach (var p in deviceType.GetProperties(Members))
        {
            if (p.GetCustomAttribute<AttrAttribute>() is { } a)
            {
                // a public, non-init setter makes the attribute writable; a private one is the device's own business
                var setter = p.GetSetMethod(false);
                attributes.Add((AttributeSpec.Create(a.Name ?? p.Name, p.PropertyType, p.GetGetMethod(true) is not null,
                    setter is not null && !IsInitOnly(setter), a), p));
            }
            if (p.GetCustomAttribute<DevicePropertyAttribute>() is { } dp)
                properties.Add(new PropertySpec(dp.Name ?? p.Name, p, false, dp.Mandatory, dp.Description ?? ""));
            if (p.GetCustomAttribute<ClassPropertyAttribute>() is { } cp)
                properties.Add(new PropertySpec(cp.Name ?? p.Name, p, true, Description: cp.Description ?? ""));
        }

        var commands = new List<(CommandSpec, MethodInfo)>();
        foreach (var m in deviceType.GetMethods(Members))
        {
            if (m.GetCustomAttribute<CommandAttribute>() is not { } c)
                continue;
            var parameters = m.GetParameters();
            if (parameters.Length > 1)
                throw new NotSupportedException($"command {m.Name} has more than one parameter");
            var inClr = parameters.Length == 1 ? parameters[0].ParameterType : typeof(void);
            commands.Add((new CommandSpec
            {
                Name = c.Name ?? m.Name,
                InType = TypeMap.ForCommand(inClr),
                OutType = TypeMap.ForCommand(m.ReturnType),
                InClr = inClr,
                OutClr = m.ReturnType,
                Description = c.Description ?? "",
                InDescription = c.InDescription ?? "",
                OutDescription = c.OutDescription ?? "",
                DisplayLevel = c.DisplayLevel,
                AllowedStates = c.AllowedStates ?? [],
                PollingPeriod = c.PollingPeriod,
                ReleasesMonitor = c.ReleasesMonitor,
            }, m));
        }

        var allowed = new Dictionary<string, MethodInfo>(StringComparer.OrdinalIgnoreCase);
        var names = attributes.Select(a => (a.Item1.Name, a.Item2.Name)).Concat(commands.Select(c => (c.Item1.Name, c.Item2.Name)));
        foreach (var (tangoName, memberName) in names)
        {
            var method = FindAllowed(deviceType, tangoName) ?? FindAllowed(deviceType, memberName);
            if (method is not null)
                allowed[tangoName] = method;
        }

        return new ClassSpec
        {
            Name = name,
            DeviceType = deviceType,
            Attributes = attributes,
            Commands = commands,
            Properties = properties,
            AllowedMethods = allowed,
            OverridesState = Overrides(deviceType, nameof(Device.ReadState)),
            OverridesStatus = Overrides(deviceType, nameof(Device.ReadStatus)),
        };
    }

    private static MethodInfo? FindAllowed(Type t, string name)
    {
        var m = t.GetMethod($"Is{name}Allowed", Members, Type.EmptyTypes);
        return m is not null && m.ReturnType == typeof(bool) ? m : null;
    }

    private static bool IsInitOnly(MethodInfo setter) =>
        setter.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.FullName == "System.Runtime.CompilerServices.IsExternalInit");

    private static bool Overrides(Type t, string method) =>
        t.GetMethod(method, Members, Type.EmptyTypes)!.DeclaringType != typeof(Device);
}
