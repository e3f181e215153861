"""Reading settings from the environment, once, with errors that name the variable.

Each service defines a frozen ``Settings`` dataclass with a ``from_env(environ)`` classmethod
built on :class:`Env`; only ``__main__`` modules pass ``os.environ`` in.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from verinet.errors import ConfigError

#: A number setting's type: ``Env.int`` and ``Env.float`` read theirs the same way.
Number = TypeVar("Number", int, float)


class Env:
    """Typed access to an environment mapping; every error names the variable and an example.

    Its methods are named after the types they return, so below ``def str`` the class body
    spells the builtin as ``builtins.str``.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def str(self, name: str, default: str | None = None, *, example: str = "") -> str:
        value = self._raw(name)
        if value is None:
            if default is None:
                raise ConfigError(
                    f"Missing setting {name}: expected a value, for example {name}={example!s}"
                )
            return default
        return value

    def optional_str(self, name: builtins.str) -> builtins.str | None:
        return self._raw(name)

    def int(
        self, name: builtins.str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        return self._number(name, default, builtins.int, "an integer", minimum, maximum)

    def float(self, name: builtins.str, default: float, *, minimum: float = 0.0) -> float:
        return self._number(name, default, builtins.float, "a number", minimum, None)

    def _number(
        self,
        name: builtins.str,
        default: Number,
        read: Callable[[builtins.str], Number],
        kind: builtins.str,
        minimum: Number,
        maximum: Number | None,
    ) -> Number:
        """The variable as ``read`` reads it (``kind`` names what it expects), within bounds."""
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = read(value)
        except ValueError:
            raise ConfigError(
                f"Failed to read {name}={value!r}: expected {kind}, for example {name}={default}"
            ) from None
        if number < minimum or (maximum is not None and number > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise ConfigError(
                f"Failed to read {name}={value!r}: expected at least {minimum}{upper}"
            )
        return number

    def bool(self, name: builtins.str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"Failed to read {name}={value!r}: expected true or false")

    def path(self, name: builtins.str, default: builtins.str) -> Path:
        return Path(self.str(name, default))


#: The three settings of mutual TLS between services; all or none.
INTERNAL_TLS_VARIABLES = ("INTERNAL_TLS_CA_FILE", "INTERNAL_TLS_CERT_FILE", "INTERNAL_TLS_KEY_FILE")


@dataclass(frozen=True)
class InternalTls:
    """Mutual TLS between services: the internal CA, and this service's certificate and key
    (PEM), which it presents as a server and as a client alike."""

    ca: bytes
    cert: bytes
    key: bytes
    #: The files they were read from (ca, cert, key), so servers and channels can take renewed
    #: ones (verinet.tls_reload); None for material given in memory.
    files: tuple[Path, Path, Path] | None = None

    @classmethod
    def from_env(cls, env: Env) -> InternalTls | None:
        """None when no INTERNAL_TLS_* variable is set (plain text inside the cluster)."""
        files = {name: env.optional_str(name) for name in INTERNAL_TLS_VARIABLES}
        if not any(files.values()):
            return None
        missing = [name for name, value in files.items() if value is None]
        if missing:
            raise ConfigError(
                f"Missing setting {', '.join(missing)}: mutual TLS needs all of "
                f"{', '.join(INTERNAL_TLS_VARIABLES)}, for example INTERNAL_TLS_CA_FILE=/tls/ca.crt "
                "INTERNAL_TLS_CERT_FILE=/tls/tls.crt INTERNAL_TLS_KEY_FILE=/tls/tls.key"
            )
        contents: dict[str, bytes] = {}
        for name, value in files.items():
            try:
                contents[name] = Path(str(value)).read_bytes()
            except OSError as error:
                raise ConfigError(
                    f"Failed to read {name}={value!r}: {error.strerror or error}"
                ) from None
            if b"-----BEGIN " not in contents[name]:
                raise ConfigError(f"Failed to read {name}={value!r}: expected a PEM file")
        return cls(
            ca=contents["INTERNAL_TLS_CA_FILE"],
            cert=contents["INTERNAL_TLS_CERT_FILE"],
            key=contents["INTERNAL_TLS_KEY_FILE"],
            files=(
                Path(str(files["INTERNAL_TLS_CA_FILE"])),
                Path(str(files["INTERNAL_TLS_CERT_FILE"])),
                Path(str(files["INTERNAL_TLS_KEY_FILE"])),
            ),
        )
