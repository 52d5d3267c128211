using System.Linq.Expressions;
using System.Reflection;
using Tango.Interop;

namespace Tango.Server;

/// <summary>An attribute and the code behind it. <see cref="Id"/> is what the native side calls back with.</summary>
internal sealed class AttrBinding
{
    /// <summary>A binding whose reads evaluate <paramref name="value"/>, the expression of the attribute's C# value
    /// read from the device parameter it is given (null: write-only).</summary>
    public AttrBinding(AttributeSpec spec, Func<ParameterExpression, Expression>? value, Action<Device, object?>? write,
        Func<Device, bool>? allowed)
    {
        Spec = spec;
        Write = write;
        Allowed = allowed;
        Shape = TypeMap.Shape(spec.Format);
        if (value is null)
            return;
        if (ScalarReader.Serves(spec))
        {
            Scalar = ScalarReader.Create(spec, value);
            return;
        }
        var d = Expression.Parameter(typeof(Device));
        Read = Expression.Lambda<Func<Device, object?>>(Expression.Convert(value(d), typeof(object)), d).Compile();
    }

    public int Id { get; set; }
    public AttributeSpec Spec { get; }
    /// <summary>Numeric scalars: the reader of the value slot.</summary>
    public ScalarReader? Scalar { get; }
    /// <summary>Every other readable attribute: the value, boxed.</summary>
    public Func<Device, object?>? Read { get; }
    public Action<Device, object?>? Write { get; }
    public Func<Device, bool>? Allowed { get; }
    public ValueShape Shape { get; }

    /// <summary>Calls <paramref name="register"/> with the native description of this attribute (valid during the call).</summary>
    public unsafe void Describe(Action<TnsAttrDesc> register)
    {
        using var arena = new NativeArena();
        var props = Spec.Properties.SelectMany(p => new[] { p.Key, p.Value }).ToArray();
        var desc = new TnsAttrDesc
        {
            Name = arena.Str(Spec.Name),
            Id = Id,
            Type = (int)Spec.Type,
            Format = (int)Spec.Format,
            WriteType = (int)Spec.Access,
            MaxX = Spec.MaxX,
            MaxY = Spec.MaxY,
            DispLevel = (int)Spec.DisplayLevel,
            Memorized = Spec.Memorized switch
            {
                Memorization.None => TnsMemorized.No,
                Memorization.Memorized => TnsMemorized.Yes,
                _ => TnsMemorized.WrittenAtInit,
            },
            AllowedStates = Registry.StateMask(Spec.AllowedStates),
            HasAllowedCallback = Allowed is null ? 0 : 1,
            ChangeEvent = Push(Spec.PushChangeEvent, Spec.CheckChangeCriteria),
            ArchiveEvent = Push(Spec.PushArchiveEvent, Spec.CheckArchiveCriteria),
            DataReadyEvent = Spec.DataReadyEvent ? 1 : 0,
            PollingPeriod = Spec.PollingPeriod,
            ScalarSlot = Scalar is null ? 0 : 1,
            PropCount = Spec.Properties.Count,
            Props = arena.Strs(props),
            EnumLabelCount = Spec.EnumLabels.Count,
            EnumLabels = arena.Strs(Spec.EnumLabels),
            Assoc = arena.Str(Spec.WriteAttribute),
        };
        register(desc);
    }

    private static TnsEventPush Push(bool pushed, bool checkCriteria) =>
        !pushed ? TnsEventPush.None : checkCriteria ? TnsEventPush.ByCodeChecked : TnsEventPush.ByCode;
}

/// <summary>A command and the method behind it.</summary>
internal sealed class CmdBinding(CommandSpec spec, Func<Device, object?, object?> invoke, Func<Device, bool>? allowed)
{
    public int Id { get; set; }
    public CommandSpec Spec { get; } = spec;
    public Func<Device, object?, object?> Invoke { get; } = invoke;
    public Func<Device, bool>? Allowed { get; } = allowed;
    public (TangoType Element, ValueShape Shape) In { get; } = TypeMap.Shape(spec.InType);
    public (TangoType Element, ValueShape Shape) Out { get; } = TypeMap.Shape(spec.OutType);

    /// <summary>Calls <paramref name="register"/> with the native description of this command (valid during the call).</summary>
    public unsafe void Describe(Action<TnsCmdDesc> register)
    {
        using var arena = new NativeArena();
        register(new TnsCmdDesc
        {
            Name = arena.Str(Spec.Name),
            Id = Id,
            InType = (int)Spec.InType,
            OutType = (int)Spec.OutType,
            DispLevel = (int)Spec.DisplayLevel,
            AllowedStates = Registry.StateMask(Spec.AllowedStates),
            HasAllowedCallback = Allowed is null ? 0 : 1,
            PollingPeriod = Spec.PollingPeriod,
            InDesc = arena.Str(Spec.ClientInDescription),
            OutDesc = arena.Str(Spec.ClientOutDescription),
            ReleasesMonitor = Spec.ReleasesMonitor ? 1 : 0,
        });
    }
}

/// <summary>A Tango class of this server: its description, bindings and native index.</summary>
internal sealed class ClassBinding
{
    public required ClassSpec Spec { get; init; }
    public required Func<Device> Factory { get; init; }
    public required IReadOnlyDictionary<string, AttrBinding> Attributes { get; init; }
    public required IReadOnlyList<CmdBinding> Commands { get; init; }
    public int Index { get; set; }

    public static ClassBinding From(ClassSpec spec)
    {
        var t = spec.DeviceType;
        var attributes = new Dictionary<string, AttrBinding>(StringComparer.OrdinalIgnoreCase);
        foreach (var (a, p) in spec.Attributes)
        {
            Func<ParameterExpression, Expression>? read = a.Access == AttrWriteType.Write ? null
                : d => Expression.Property(Expression.Convert(d, t), p);
            var write = a.Access is AttrWriteType.Read or AttrWriteType.ReadWithWrite ? null : Setter(t, p);
            attributes.Add(a.Name, Registry.Add(new AttrBinding(a, read, write, Allowed(spec, a.Name))));
        }
        var commands = spec.Commands
            .Select(c => Registry.Add(new CmdBinding(c.Spec, Invoker(t, c.Method), Allowed(spec, c.Spec.Name))))
            .ToList();
        var ctor = Expression.Lambda<Func<Device>>(Expression.New(t)).Compile();
        return new ClassBinding { Spec = spec, Factory = ctor, Attributes = attributes, Commands = commands };
    }

    private static Func<Device, bool>? Allowed(ClassSpec spec, string name)
    {
        if (!spec.AllowedMethods.TryGetValue(name, out var m))
            return null;
        var d = Expression.Parameter(typeof(Device));
        return Expression.Lambda<Func<Device, bool>>(Expression.Call(Expression.Convert(d, spec.DeviceType), m), d).Compile();
    }

    private static Action<Device, object?> Setter(Type t, PropertyInfo p)
    {
        var d = Expression.Parameter(typeof(Device));
        var v = Expression.Parameter(typeof(object));
        var body = Expression.Assign(Expression.Property(Expression.Convert(d, t), p), Expression.Convert(v, p.PropertyType));
        return Expression.Lambda<Action<Device, object?>>(body, d, v).Compile();
    }

    private static Func<Device, object?, object?> Invoker(Type t, MethodInfo m)
    {
        var d = Expression.Parameter(typeof(Device));
        var arg = Expression.Parameter(typeof(object));
        var parameters = m.GetParameters();
        Expression call = Expression.Call(Expression.Convert(d, t), m,
            parameters.Select(p => Expression.Convert(arg, p.ParameterType)));
        call = m.ReturnType == typeof(void)
            ? Expression.Block(call, Expression.Constant(null, typeof(object)))
            : Expression.Convert(call, typeof(object));
        return Expression.Lambda<Func<Device, object?, object?>>(call, d, arg).Compile();
    }
}

/// <summary>Every attribute and command binding of the process, by the id the native side calls back with.</summary>
internal static class Registry
{
    private static readonly Lock Gate = new();
    private static AttrBinding[] _attributes = [];
    private static CmdBinding[] _commands = [];

    public static AttrBinding Attribute(int id) => Volatile.Read(ref _attributes)[id];

    public static CmdBinding Command(int id) => Volatile.Read(ref _commands)[id];

    public static AttrBinding? TryAttribute(int id) => Volatile.Read(ref _attributes) is var all && (uint)id < (uint)all.Length ? all[id] : null;

    public static CmdBinding? TryCommand(int id) => Volatile.Read(ref _commands) is var all && (uint)id < (uint)all.Length ? all[id] : null;

    // Copy on write: the lookups on ORB threads take no lock.
    public static AttrBinding Add(AttrBinding b)
    {
        lock (Gate)
        {
            b.Id = _attributes.Length;
            Volatile.Write(ref _attributes, [.. _attributes, b]);
        }
        return b;
    }

    public static CmdBinding Add(CmdBinding b)
    {
        lock (Gate)
        {
            b.Id = _commands.Length;
            Volatile.Write(ref _commands, [.. _commands, b]);
        }
        return b;
    }

    public static uint StateMask(IReadOnlyList<DevState> states) =>
        states.Aggregate(0u, (mask, s) => mask | (1u << (int)s));
}
