"""Signing: RFC 9421 signature headers over a body's exact bytes, with an RFC 9530
``Content-Digest``; the hot path of every verdict, so the signature base is formatted by hand
(``bench/signing.py`` measures it against the http-message-signatures library)."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from typing import Final, NoReturn
from urllib.parse import urlsplit

from verinet.errors import InvalidInput, unexpected
from verinet.signing.keys import KeyRing

#: The signature label used in ``Signature-Input`` and ``Signature``.
LABEL: Final = "sig1"
#: The RFC 9421 algorithm name, sent as the ``alg`` parameter.
ALGORITHM: Final = "ed25519"

_RESERVED_FIELDS: Final = frozenset(
    {"content-type", "content-digest", "signature", "signature-input"}
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_METHOD = re.compile(r"[A-Z]+")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value of ``body``: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def _check_field_value(name: str, value: str) -> None:
    # A value must survive a verifier's whitespace trimming and fit the ASCII signature base.
    if (
        not isinstance(value, str)
        or not value.isascii()
        or not value.isprintable()
        or value != value.strip(" ")
    ):
        raise InvalidInput(
            f"Failed to sign header {name!r}: expected printable ASCII without surrounding "
            f"spaces, got {value!r}.",
            code="signature.header_invalid",
            field=name,
        )


class ResponseSigner:
    """Signs verdict responses and webhook requests with a key ring's active key.

    The private key object and the fixed parts of ``Signature-Input`` are prepared once;
    each call hashes the body, formats the signature base by hand and signs it.
    """

    def __init__(self, keyring: KeyRing, *, now: Callable[[], float] = time.time) -> None:
        active = keyring.active
        self.keyring = keyring
        self.kid = active.kid
        self._sign_bytes = active.private_key.sign
        self._now = now
        self._param_tail = f';keyid="{active.kid}";alg="{ALGORITHM}"'
        # extra header names as passed -> (lowercase names, their covered-component ids)
        self._extra_names: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}

    def sign(
        self,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "application/json",
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Headers to send with ``body``: Content-Type, Content-Digest, any extra headers,
        Signature-Input and Signature, covering ``@status``, ``content-type``,
        ``content-digest`` and every extra header."""
        if type(status) is not int or not 100 <= status <= 999:
            raise InvalidInput(
                f"Failed to sign a response with status {status!r}: "
                "expected a three-digit integer.",
                code="signature.header_invalid",
                field="status",
            )
        return self._sign('"@status"', f'"@status": {status}\n', body, content_type, extra_headers)

    def sign_request(
        self,
        method: str,
        target_uri: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Headers for an outbound request (a webhook POST), covering ``@method``,
        ``@target-uri``, ``content-type``, ``content-digest`` and every extra header.

        The target URI is normalized as a receiver rebuilds it: lowercase scheme and host,
        no default port, no userinfo or fragment, ``/`` for an empty path.
        """
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            expected = "an uppercase token such as 'POST'"
            raise unexpected(
                "sign a request with method", method, expected, code="signature.header_invalid", field="method"
            )
        uri = normalize_target_uri(target_uri)
        return self._sign(
            '"@method" "@target-uri"',
            f'"@method": {method}\n"@target-uri": {uri}\n',
            body,
            content_type,
            extra_headers,
        )

    def _sign(
        self,
        derived_ids: str,
        derived_lines: str,
        body: bytes,
        content_type: str,
        extra_headers: Mapping[str, str] | None,
    ) -> dict[str, str]:
        _check_field_value("Content-Type", content_type)
        digest = content_digest(body)
        created = int(self._now())
        headers = {"Content-Type": content_type, "Content-Digest": digest}
        if extra_headers:
            lowered, extra_ids = self._covered_extra(tuple(extra_headers))
            lines = []
            for (name, value), low in zip(extra_headers.items(), lowered, strict=True):
                _check_field_value(name, value)
                headers[name] = value
                lines.append(f'"{low}": {value}\n')
            params = (
                f'({derived_ids} "content-type" "content-digest"{extra_ids})'
                f";created={created}{self._param_tail}"
            )
            base = (
                f'{derived_lines}"content-type": {content_type}\n'
                f'"content-digest": {digest}\n{"".join(lines)}"@signature-params": {params}'
            )
        else:
            params = (
                f'({derived_ids} "content-type" "content-digest")'
                f";created={created}{self._param_tail}"
            )
            base = (
                f'{derived_lines}"content-type": {content_type}\n'
                f'"content-digest": {digest}\n"@signature-params": {params}'
            )
        signature = base64.b64encode(self._sign_bytes(base.encode("ascii"))).decode("ascii")
        headers["Signature-Input"] = f"{LABEL}={params}"
        headers["Signature"] = f"{LABEL}=:{signature}:"
        return headers

    def _covered_extra(self, names: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
        cached = self._extra_names.get(names)
        if cached is not None:
            return cached
        lowered = tuple(name.lower() for name in names)
        for name, low in zip(names, lowered, strict=True):
            if not isinstance(name, str) or not _TOKEN.fullmatch(name) or low in _RESERVED_FIELDS:
                raise InvalidInput(
                    f"Failed to sign extra header {name!r}: expected a header name token other "
                    f"than {sorted(_RESERVED_FIELDS)!r}.",
                    code="signature.header_invalid",
                    field=str(name),
                )
        if len(set(lowered)) != len(lowered):
            raise InvalidInput(
                f"Failed to sign extra headers {list(names)!r}: expected distinct names "
                "ignoring case.",
                code="signature.header_invalid",
            )
        entry = (lowered, "".join(f' "{low}"' for low in lowered))
        if len(self._extra_names) < 64:  # names come from code, not input; bound it anyway
            self._extra_names[names] = entry
        return entry


def normalize_target_uri(target_uri: str) -> str:
    def fail(expected: str) -> NoReturn:
        raise InvalidInput(
            f"Failed to use {target_uri!r} as a target URI: expected {expected}.",
            code="signature.header_invalid",
            field="target_uri",
        )

    if not isinstance(target_uri, str) or not target_uri.isascii() or not target_uri.isprintable():
        fail("printable ASCII")
    if " " in target_uri:
        fail("no spaces (percent-encode them)")
    parts = urlsplit(target_uri)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        fail("an absolute http or https URL with a host")
    host = parts.hostname  # already lowercase, brackets removed
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        fail("a numeric port")
    authority = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    has_query = "?" in target_uri.partition("#")[0]
    query = f"?{parts.query}" if has_query else ""
    return f"{scheme}://{authority}{parts.path or '/'}{query}"
