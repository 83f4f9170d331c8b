using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Switchboard.Handlers;
using Switchboard.Observability;

namespace Switchboard.Execution.Endpoints;

/// <summary>
/// This process's circuit breakers, one per (handler, endpoint profile) of offers that name
/// several endpoints: Polly.Core's <see cref="CircuitBreakerStrategyOptions"/> alone in its
/// pipeline. No retry strategy beside it: a retry inside an attempt would be a second upstream
/// call the lifecycle never sees (and might bill twice); retries and fallbacks are attempts.
/// A failure is a transient <see cref="HandlerException"/> or the attempt's timeout; a permanent
/// error (bad input, a refused key) says nothing about the endpoint's health.
/// </summary>
public sealed class EndpointBreakers(IOptions<EndpointBreakerOptions> options)
{
    private readonly ConcurrentDictionary<(string Handler, string Endpoint), Breaker> _breakers = new();

    /// <summary>
    /// Whether calls to the endpoint are refused now: open and within its break, or half-open
    /// (its one probe is in flight). An open breaker whose break is over is not skipped: the
    /// next call through it is the probe that closes (or reopens) it.
    /// </summary>
    public bool IsOpen(string handler, string endpoint) =>
        _breakers.TryGetValue((handler, endpoint), out var breaker) && breaker.Refusing;

    /// <summary>The breaker's state as Polly reports it (closed for one never used).</summary>
    public CircuitState StateOf(string handler, string endpoint) =>
        _breakers.TryGetValue((handler, endpoint), out var breaker) ? breaker.State.CircuitState : CircuitState.Closed;

    /// <summary>
    /// Runs one call to the endpoint through its breaker. A call the breaker refuses becomes a
    /// transient <c>endpoint_circuit_open</c> failure (no upstream call was made); the call's own
    /// exceptions come out unchanged.
    /// </summary>
    /// <param name="timeout">The attempt's timeout: a cancellation by it counts as a failure of the endpoint.</param>
    public async Task ExecuteAsync(string handler, string endpoint, Func<CancellationToken, Task> call, CancellationToken timeout, CancellationToken token)
    {
        var breaker = _breakers.GetOrAdd((handler, endpoint), key => new Breaker(key.Handler, key.Endpoint, options.Value));
        try
        {
            await breaker.Pipeline.ExecuteAsync(
                async (ct) =>
                {
                    try
                    {
                        await call(ct);
                    }
                    catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
                    {
                        throw new TimedOut(ex);
                    }
                },
                token);
            SwitchboardMetrics.EndpointCalls.WithLabels(handler, endpoint, "succeeded").Inc();
        }
        catch (TimedOut t)
        {
            SwitchboardMetrics.EndpointCalls.WithLabels(handler, endpoint, "timeout").Inc();
            ExceptionDispatchInfo.Throw(t.InnerException!);
        }
        catch (BrokenCircuitException refused)
        {
            SwitchboardMetrics.EndpointCalls.WithLabels(handler, endpoint, "refused").Inc();
            throw HandlerException.Retry("endpoint_circuit_open", $"the endpoint '{endpoint}' is failing: its circuit breaker is open", refused.RetryAfter);
        }
        catch (Exception)
        {
            SwitchboardMetrics.EndpointCalls.WithLabels(handler, endpoint, "failed").Inc();
            throw;
        }
    }

    /// <summary>Carries a timeout through Polly as a failure, then is unwrapped (the outcome sees the cancellation, as without a breaker).</summary>
    private sealed class TimedOut(OperationCanceledException inner) : Exception("timed out", inner);

    private sealed class Breaker
    {
        public readonly ResiliencePipeline Pipeline;
        public readonly CircuitBreakerStateProvider State = new();
        private long _openUntil;

        public Breaker(string handler, string endpoint, EndpointBreakerOptions o)
        {
            var state = SwitchboardMetrics.EndpointBreakerState.WithLabels(handler, endpoint);
            state.Set(0);
            void Moved(string to, double value)
            {
                state.Set(value);
                SwitchboardMetrics.EndpointBreakerTransitions.WithLabels(handler, endpoint, to).Inc();
            }
            Pipeline = new ResiliencePipelineBuilder().AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = o.FailureRatio,
                MinimumThroughput = o.MinimumThroughput,
                SamplingDuration = o.SamplingDuration,
                BreakDuration = o.BreakDuration,
                StateProvider = State,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is TimedOut or HandlerException { Transient: true }),
                OnOpened = args =>
                {
                    Volatile.Write(ref _openUntil, Environment.TickCount64 + (long)args.BreakDuration.TotalMilliseconds);
                    Moved("open", 1);
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    Moved("half_open", 2);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    Moved("closed", 0);
                    return ValueTask.CompletedTask;
                },
            }).Build();
        }

        public bool Refusing => State.CircuitState switch
        {
            CircuitState.HalfOpen or CircuitState.Isolated => true,
            CircuitState.Open => Environment.TickCount64 < Volatile.Read(ref _openUntil),
            _ => false,
        };
    }
}
