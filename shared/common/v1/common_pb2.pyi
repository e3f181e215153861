from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PackState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PACK_STATE_UNSPECIFIED: _ClassVar[PackState]
    PACK_STATE_ACTIVE: _ClassVar[PackState]
    PACK_STATE_SUPPLIED: _ClassVar[PackState]
    PACK_STATE_DESTROYED: _ClassVar[PackState]
    PACK_STATE_STOLEN: _ClassVar[PackState]
    PACK_STATE_SAMPLE: _ClassVar[PackState]
    PACK_STATE_FREE_SAMPLE: _ClassVar[PackState]
    PACK_STATE_EXPORTED: _ClassVar[PackState]
    PACK_STATE_LOCKED: _ClassVar[PackState]
    PACK_STATE_CHECKED_OUT: _ClassVar[PackState]
    PACK_STATE_EXPIRED: _ClassVar[PackState]
    PACK_STATE_RECALLED: _ClassVar[PackState]
    PACK_STATE_WITHDRAWN: _ClassVar[PackState]
    PACK_STATE_ILLEGITIMATE: _ClassVar[PackState]
PACK_STATE_UNSPECIFIED: PackState
PACK_STATE_ACTIVE: PackState
PACK_STATE_SUPPLIED: PackState
PACK_STATE_DESTROYED: PackState
PACK_STATE_STOLEN: PackState
PACK_STATE_SAMPLE: PackState
PACK_STATE_FREE_SAMPLE: PackState
PACK_STATE_EXPORTED: PackState
PACK_STATE_LOCKED: PackState
PACK_STATE_CHECKED_OUT: PackState
PACK_STATE_EXPIRED: PackState
PACK_STATE_RECALLED: PackState
PACK_STATE_WITHDRAWN: PackState
PACK_STATE_ILLEGITIMATE: PackState

class PackIdentifier(_message.Message):
    __slots__ = ("gtin", "serial", "lot", "expiry")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    serial: str
    lot: str
    expiry: str
    def __init__(self, gtin: _Optional[str] = ..., serial: _Optional[str] = ..., lot: _Optional[str] = ..., expiry: _Optional[str] = ...) -> None: ...

class Caller(_message.Message):
    __slots__ = ("partner_id", "roles", "glns", "company_prefixes", "location_gln")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    GLNS_FIELD_NUMBER: _ClassVar[int]
    COMPANY_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    LOCATION_GLN_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    glns: _containers.RepeatedScalarFieldContainer[str]
    company_prefixes: _containers.RepeatedScalarFieldContainer[str]
    location_gln: str
    def __init__(self, partner_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., glns: _Optional[_Iterable[str]] = ..., company_prefixes: _Optional[_Iterable[str]] = ..., location_gln: _Optional[str] = ...) -> None: ...

class PackResult(_message.Message):
    __slots__ = ("index", "pack", "ok", "code", "message", "state", "alert_id", "warning", "batch_status")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PACK_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    BATCH_STATUS_FIELD_NUMBER: _ClassVar[int]
    index: int
    pack: PackIdentifier
    ok: bool
    code: str
    message: str
    state: PackState
    alert_id: str
    warning: bool
    batch_status: PackState
    def __init__(self, index: _Optional[int] = ..., pack: _Optional[_Union[PackIdentifier, _Mapping]] = ..., ok: _Optional[bool] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., state: _Optional[_Union[PackState, str]] = ..., alert_id: _Optional[str] = ..., warning: _Optional[bool] = ..., batch_status: _Optional[_Union[PackState, str]] = ...) -> None: ...

class RpcError(_message.Message):
    __slots__ = ("status_code", "details", "status")
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status_code: int
    details: str
    status: _status_pb2.Status
    def __init__(self, status_code: _Optional[int] = ..., details: _Optional[str] = ..., status: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
