"""Keeps the processes of a one-machine network running.

``verinet up`` watches the embedded Redis and the four services. One that exits is started
again on the same port and data, after a delay that doubles with each exit in a recent window;
after too many exits in that window it gives up, and the network stops with the reason, since
a process that keeps dying needs a person (a broken configuration, a full disk, a port taken).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from verinet.backoff import Backoff
from verinet.errors import Unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    """When a process that exited is started again, and when to stop trying."""

    #: This many exits of one process within ``window_seconds`` stop the network.
    give_up_after: int = 5
    window_seconds: float = 60.0
    #: The wait before a restart, doubling with each exit still in the window.
    restart_delay: Backoff = Backoff(base=0.5, maximum=8.0)


@dataclass
class ExitHistory:
    """The recent exits of one process, and what to do after the next one.

    >>> exits = ExitHistory(RestartPolicy(give_up_after=3, window_seconds=60))
    >>> exits.record(now=0.0), exits.record(now=1.0)
    (0.5, 1.0)
    >>> exits.record(now=2.0) is None  # a third exit within a minute
    True
    >>> exits = ExitHistory(RestartPolicy(give_up_after=3, window_seconds=60))  # a minute apart
    >>> exits.record(now=0.0), exits.record(now=100.0), exits.record(now=200.0)
    (0.5, 0.5, 0.5)
    """

    policy: RestartPolicy
    exits: deque[float] = field(default_factory=deque)

    def record(self, now: float) -> float | None:
        """Notes an exit at ``now``: the seconds to wait before the restart, or None to give up."""
        self.exits.append(now)
        while self.exits[0] <= now - self.policy.window_seconds:
            self.exits.popleft()
        recent = len(self.exits)
        if recent >= self.policy.give_up_after:
            return None
        return self.policy.restart_delay.delay(recent)

    @property
    def recent(self) -> int:
        return len(self.exits)


class Supervised(Protocol):
    """What the supervisor needs of a network (``verinet.network.Network``)."""

    def exited(self) -> dict[str, int]:
        """Exit codes of the supervised processes that are not running, by name."""
        ...

    def restart(self, name: str) -> int:
        """Starts the named process again (same port, same data); answers its process id."""
        ...

    def log_path(self, name: str) -> str:
        """Where the named process writes its log."""
        ...


class Supervisor:
    """Restarts the processes of a network that exit, until stopped or it gives up."""

    def __init__(
        self,
        network: Supervised,
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.network = network
        self.policy = policy or RestartPolicy()
        self.clock = clock
        self.histories: dict[str, ExitHistory] = {}
        self.due: dict[str, float] = {}  # name -> when it is started again

    def check(self) -> None:
        """One round: notes the processes that exited and restarts those whose delay has
        passed. Raises Unavailable when one has exited too often."""
        now = self.clock()
        for name, exit_code in self.network.exited().items():
            if name in self.due:
                continue
            history = self.histories.setdefault(name, ExitHistory(self.policy))
            delay = history.record(now)
            extra = {"child": name, "exit_code": exit_code, "exits_in_window": history.recent}
            if delay is None:
                log.error("%s exited with %s; giving up", name, exit_code, extra=extra)
                raise Unavailable(
                    f"{name} exited {history.recent} times within {self.policy.window_seconds:g}s "
                    f"(last exit code {exit_code}); stopped the network: see {self.network.log_path(name)}",
                    code="supervisor.gave_up",
                )
            log.warning("%s exited with %s; restarting it in %.1fs", name, exit_code, delay, extra={**extra, "restart_in_seconds": delay})
            self.due[name] = now + delay
        for name, when in list(self.due.items()):
            if when <= now:
                del self.due[name]
                pid = self.network.restart(name)
                log.warning("%s restarted", name, extra={"child": name, "pid": pid})

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Checks every ``interval`` until ``stop`` is set; raises Unavailable on giving up."""
        while not stop.is_set():
            self.check()
            stop.wait(interval)
