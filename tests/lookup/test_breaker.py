"""The circuit breaker's states: closed, open, half-open, with a clock the test moves."""

from __future__ import annotations

import pytest

from verinet.lookup.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_consecutive_failures_open_the_circuit_and_a_success_resets_the_count(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=10, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(10)


def test_an_open_circuit_lets_one_probe_through_after_its_open_time(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=10, clock=clock)
    breaker.record_failure()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow()
    assert breaker.state == "half_open"
    assert not breaker.allow(), "only one probe at a time"
    breaker.record_success()
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(5))


def test_a_failed_probe_opens_the_circuit_for_another_open_time(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=5, open_seconds=10, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in half-open state
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now += 10
    assert breaker.allow()


def test_a_probe_whose_outcome_is_unknown_is_released_for_the_next_caller(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=1, clock=clock)
    breaker.record_failure()
    clock.now += 1
    assert breaker.allow()
    breaker.release()
    assert breaker.state == "half_open"
    assert breaker.allow()


def test_a_threshold_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CircuitBreaker(failure_threshold=0, open_seconds=1)
