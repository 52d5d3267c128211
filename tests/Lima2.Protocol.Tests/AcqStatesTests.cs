namespace Lima2.Protocol.Tests;

public sealed class AcqStatesTests
{
    [Fact]
    public void Labels_are_lima2s_lowercase_names_in_value_order() =>
        Assert.Equal(["idle", "prepared", "running", "stopped", "fault", "terminate"], AcqStates.Labels);

    [Theory]
    [InlineData(SystemState.Idle, AcqState.Idle, AcqState.Idle, AcqState.Idle)]
    [InlineData(SystemState.Idle, AcqState.Stopped, AcqState.Idle, AcqState.Stopped)]
    [InlineData(SystemState.Prepared, AcqState.Prepared, AcqState.Prepared)]
    [InlineData(SystemState.Running, AcqState.Running, AcqState.Running, AcqState.Running)]
    [InlineData(SystemState.Idle, AcqState.Prepared, AcqState.Idle, AcqState.Prepared)]
    [InlineData(SystemState.Running, AcqState.Running, AcqState.Idle, AcqState.Running)]
    [InlineData(SystemState.Fault, AcqState.Running, AcqState.Fault, AcqState.Idle)]
    [InlineData(SystemState.Fault, AcqState.Terminate, AcqState.Terminate)]
    [InlineData(SystemState.Unknown, AcqState.Prepared, AcqState.Running)]
    [InlineData(SystemState.Unknown, AcqState.Prepared, AcqState.Running, AcqState.Idle)]
    public void System_state_follows_the_conductors_rules(SystemState expected, params AcqState[] states) =>
        Assert.Equal(expected, AcqStates.Aggregate(states.Select(s => (AcqState?)s).ToArray()));

    [Fact]
    public void A_device_that_does_not_answer_disconnects_the_system() =>
        Assert.Equal(SystemState.Disconnected, AcqStates.Aggregate([AcqState.Running, null]));
}
