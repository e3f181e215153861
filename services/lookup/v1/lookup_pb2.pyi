from verinet.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RouteKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTE_KIND_UNSPECIFIED: _ClassVar[RouteKind]
    ROUTE_KIND_HOSTED: _ClassVar[RouteKind]
    ROUTE_KIND_REMOTE: _ClassVar[RouteKind]

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_KIND_UNSPECIFIED: _ClassVar[EntryKind]
    ENTRY_KIND_GTIN: _ClassVar[EntryKind]
    ENTRY_KIND_PREFIX: _ClassVar[EntryKind]
ROUTE_KIND_UNSPECIFIED: RouteKind
ROUTE_KIND_HOSTED: RouteKind
ROUTE_KIND_REMOTE: RouteKind
ENTRY_KIND_UNSPECIFIED: EntryKind
ENTRY_KIND_GTIN: EntryKind
ENTRY_KIND_PREFIX: EntryKind

class DirectoryEntry(_message.Message):
    __slots__ = ("kind", "key", "owner_partner_id", "route", "remote_base_url", "responder_gln", "remote_credential", "expires_at", "updated_at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_BASE_URL_FIELD_NUMBER: _ClassVar[int]
    RESPONDER_GLN_FIELD_NUMBER: _ClassVar[int]
    REMOTE_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    kind: EntryKind
    key: str
    owner_partner_id: str
    route: RouteKind
    remote_base_url: str
    responder_gln: str
    remote_credential: str
    expires_at: str
    updated_at: str
    def __init__(self, kind: _Optional[_Union[EntryKind, str]] = ..., key: _Optional[str] = ..., owner_partner_id: _Optional[str] = ..., route: _Optional[_Union[RouteKind, str]] = ..., remote_base_url: _Optional[str] = ..., responder_gln: _Optional[str] = ..., remote_credential: _Optional[str] = ..., expires_at: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class ResolveRouteRequest(_message.Message):
    __slots__ = ("gtin",)
    GTIN_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    def __init__(self, gtin: _Optional[str] = ...) -> None: ...

class ResolveRouteResponse(_message.Message):
    __slots__ = ("found", "entry", "cache_seconds")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CACHE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    entry: DirectoryEntry
    cache_seconds: int
    def __init__(self, found: _Optional[bool] = ..., entry: _Optional[_Union[DirectoryEntry, _Mapping]] = ..., cache_seconds: _Optional[int] = ...) -> None: ...

class PutDirectoryEntryRequest(_message.Message):
    __slots__ = ("caller", "entry")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    entry: DirectoryEntry
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., entry: _Optional[_Union[DirectoryEntry, _Mapping]] = ...) -> None: ...

class PutDirectoryEntryResponse(_message.Message):
    __slots__ = ("entry", "created")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    entry: DirectoryEntry
    created: bool
    def __init__(self, entry: _Optional[_Union[DirectoryEntry, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetDirectoryEntryRequest(_message.Message):
    __slots__ = ("kind", "key")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    kind: EntryKind
    key: str
    def __init__(self, kind: _Optional[_Union[EntryKind, str]] = ..., key: _Optional[str] = ...) -> None: ...

class GetDirectoryEntryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: DirectoryEntry
    def __init__(self, entry: _Optional[_Union[DirectoryEntry, _Mapping]] = ...) -> None: ...

class DeleteDirectoryEntryRequest(_message.Message):
    __slots__ = ("caller", "kind", "key")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    kind: EntryKind
    key: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., key: _Optional[str] = ...) -> None: ...

class DeleteDirectoryEntryResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class ForwardVerificationRequest(_message.Message):
    __slots__ = ("pack", "query")
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PACK_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    pack: _common_pb2.PackIdentifier
    query: _containers.ScalarMap[str, str]
    def __init__(self, pack: _Optional[_Union[_common_pb2.PackIdentifier, _Mapping]] = ..., query: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ForwardVerificationResponse(_message.Message):
    __slots__ = ("http_status", "body", "headers", "remote")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    http_status: int
    body: bytes
    headers: _containers.ScalarMap[str, str]
    remote: DirectoryEntry
    def __init__(self, http_status: _Optional[int] = ..., body: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ..., remote: _Optional[_Union[DirectoryEntry, _Mapping]] = ...) -> None: ...
