from verinet.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PackEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PACK_EVENT_KIND_UNSPECIFIED: _ClassVar[PackEventKind]
    PACK_EVENT_KIND_ATTEMPT: _ClassVar[PackEventKind]
    PACK_EVENT_KIND_SIGHTING: _ClassVar[PackEventKind]
    PACK_EVENT_KIND_STATE_CHANGE: _ClassVar[PackEventKind]
PACK_EVENT_KIND_UNSPECIFIED: PackEventKind
PACK_EVENT_KIND_ATTEMPT: PackEventKind
PACK_EVENT_KIND_SIGHTING: PackEventKind
PACK_EVENT_KIND_STATE_CHANGE: PackEventKind

class RegisterProductRequest(_message.Message):
    __slots__ = ("caller", "gtin", "name", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtin: str
    name: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtin: _Optional[str] = ..., name: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RegisterProductResponse(_message.Message):
    __slots__ = ("gtin", "owner_partner_id", "name", "created", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    GTIN_FIELD_NUMBER: _ClassVar[int]
    OWNER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    owner_partner_id: str
    name: str
    created: bool
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, gtin: _Optional[str] = ..., owner_partner_id: _Optional[str] = ..., name: _Optional[str] = ..., created: _Optional[bool] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("caller", "gtin")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtin: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtin: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("gtin", "owner_partner_id", "name", "state", "created_at", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    GTIN_FIELD_NUMBER: _ClassVar[int]
    OWNER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    owner_partner_id: str
    name: str
    state: str
    created_at: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, gtin: _Optional[str] = ..., owner_partner_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[str] = ..., created_at: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CommissionPacksRequest(_message.Message):
    __slots__ = ("caller", "packs", "production")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    PACKS_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    packs: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackIdentifier]
    production: _containers.RepeatedCompositeFieldContainer[Production]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., packs: _Optional[_Iterable[_Union[_common_pb2.PackIdentifier, _Mapping]]] = ..., production: _Optional[_Iterable[_Union[Production, _Mapping]]] = ...) -> None: ...

class Production(_message.Message):
    __slots__ = ("line", "commissioned_at")
    LINE_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONED_AT_FIELD_NUMBER: _ClassVar[int]
    line: str
    commissioned_at: float
    def __init__(self, line: _Optional[str] = ..., commissioned_at: _Optional[float] = ...) -> None: ...

class CommissionPacksResponse(_message.Message):
    __slots__ = ("results", "stored", "unchanged", "refused")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackResult]
    stored: int
    unchanged: int
    refused: int
    def __init__(self, results: _Optional[_Iterable[_Union[_common_pb2.PackResult, _Mapping]]] = ..., stored: _Optional[int] = ..., unchanged: _Optional[int] = ..., refused: _Optional[int] = ...) -> None: ...

class GetPackStatusRequest(_message.Message):
    __slots__ = ("packs", "with_decommission", "call_id", "timeout_seconds")
    PACKS_FIELD_NUMBER: _ClassVar[int]
    WITH_DECOMMISSION_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    packs: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackIdentifier]
    with_decommission: bool
    call_id: int
    timeout_seconds: float
    def __init__(self, packs: _Optional[_Iterable[_Union[_common_pb2.PackIdentifier, _Mapping]]] = ..., with_decommission: _Optional[bool] = ..., call_id: _Optional[int] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class PackStatus(_message.Message):
    __slots__ = ("found", "lot", "expiry", "pack_state", "lot_state", "product_state", "owner_partner_id", "last_decommission", "revision")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    PACK_STATE_FIELD_NUMBER: _ClassVar[int]
    LOT_STATE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_STATE_FIELD_NUMBER: _ClassVar[int]
    OWNER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_DECOMMISSION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    found: bool
    lot: str
    expiry: str
    pack_state: _common_pb2.PackState
    lot_state: _common_pb2.PackState
    product_state: _common_pb2.PackState
    owner_partner_id: str
    last_decommission: Decommission
    revision: bytes
    def __init__(self, found: _Optional[bool] = ..., lot: _Optional[str] = ..., expiry: _Optional[str] = ..., pack_state: _Optional[_Union[_common_pb2.PackState, str]] = ..., lot_state: _Optional[_Union[_common_pb2.PackState, str]] = ..., product_state: _Optional[_Union[_common_pb2.PackState, str]] = ..., owner_partner_id: _Optional[str] = ..., last_decommission: _Optional[_Union[Decommission, _Mapping]] = ..., revision: _Optional[bytes] = ...) -> None: ...

class Decommission(_message.Message):
    __slots__ = ("state", "partner_id", "location_gln", "at")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_GLN_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.PackState
    partner_id: str
    location_gln: str
    at: float
    def __init__(self, state: _Optional[_Union[_common_pb2.PackState, str]] = ..., partner_id: _Optional[str] = ..., location_gln: _Optional[str] = ..., at: _Optional[float] = ...) -> None: ...

class PackChange(_message.Message):
    __slots__ = ("gtin", "serial", "expected_revision", "new_state", "decommission", "audit")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    NEW_STATE_FIELD_NUMBER: _ClassVar[int]
    DECOMMISSION_FIELD_NUMBER: _ClassVar[int]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    serial: str
    expected_revision: bytes
    new_state: _common_pb2.PackState
    decommission: Decommission
    audit: AuditEvent
    def __init__(self, gtin: _Optional[str] = ..., serial: _Optional[str] = ..., expected_revision: _Optional[bytes] = ..., new_state: _Optional[_Union[_common_pb2.PackState, str]] = ..., decommission: _Optional[_Union[Decommission, _Mapping]] = ..., audit: _Optional[_Union[AuditEvent, _Mapping]] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("action", "partner_id", "location_gln", "previous_state", "new_state", "transaction_id", "at")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_GLN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    NEW_STATE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    action: str
    partner_id: str
    location_gln: str
    previous_state: _common_pb2.PackState
    new_state: _common_pb2.PackState
    transaction_id: str
    at: float
    def __init__(self, action: _Optional[str] = ..., partner_id: _Optional[str] = ..., location_gln: _Optional[str] = ..., previous_state: _Optional[_Union[_common_pb2.PackState, str]] = ..., new_state: _Optional[_Union[_common_pb2.PackState, str]] = ..., transaction_id: _Optional[str] = ..., at: _Optional[float] = ...) -> None: ...

class GetPackStatusResponse(_message.Message):
    __slots__ = ("statuses", "call_id", "error")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedCompositeFieldContainer[PackStatus]
    call_id: int
    error: _common_pb2.RpcError
    def __init__(self, statuses: _Optional[_Iterable[_Union[PackStatus, _Mapping]]] = ..., call_id: _Optional[int] = ..., error: _Optional[_Union[_common_pb2.RpcError, _Mapping]] = ...) -> None: ...

class ApplyPackChangesRequest(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[PackChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[PackChange, _Mapping]]] = ...) -> None: ...

class ApplyPackChangesResponse(_message.Message):
    __slots__ = ("applied",)
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, applied: _Optional[_Iterable[bool]] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("id", "pack", "code", "message", "partner_id", "location_gln", "owner_partner_id", "operation", "status", "raised_at", "close_reason", "closed_at", "closed_by", "location_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    PACK_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_GLN_FIELD_NUMBER: _ClassVar[int]
    OWNER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSE_REASON_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    pack: _common_pb2.PackIdentifier
    code: str
    message: str
    partner_id: str
    location_gln: str
    owner_partner_id: str
    operation: str
    status: str
    raised_at: str
    close_reason: str
    closed_at: str
    closed_by: str
    location_name: str
    def __init__(self, id: _Optional[str] = ..., pack: _Optional[_Union[_common_pb2.PackIdentifier, _Mapping]] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., partner_id: _Optional[str] = ..., location_gln: _Optional[str] = ..., owner_partner_id: _Optional[str] = ..., operation: _Optional[str] = ..., status: _Optional[str] = ..., raised_at: _Optional[str] = ..., close_reason: _Optional[str] = ..., closed_at: _Optional[str] = ..., closed_by: _Optional[str] = ..., location_name: _Optional[str] = ...) -> None: ...

class RecordAlertsRequest(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class RecordAlertsResponse(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("caller", "gtin", "partner_id", "code", "status", "limit")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtin: str
    partner_id: str
    code: str
    status: str
    limit: int
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtin: _Optional[str] = ..., partner_id: _Optional[str] = ..., code: _Optional[str] = ..., status: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class CloseAlertRequest(_message.Message):
    __slots__ = ("caller", "alert_id", "reason")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    alert_id: str
    reason: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., alert_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CloseAlertResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: Alert
    def __init__(self, alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class WithdrawProductRequest(_message.Message):
    __slots__ = ("caller", "gtin", "reason")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtin: str
    reason: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtin: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WithdrawProductResponse(_message.Message):
    __slots__ = ("gtin", "withdrawn_at")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_AT_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    withdrawn_at: str
    def __init__(self, gtin: _Optional[str] = ..., withdrawn_at: _Optional[str] = ...) -> None: ...

class CreateRecallRequest(_message.Message):
    __slots__ = ("caller", "gtins", "lots", "packs", "line", "window_start", "window_end", "recall_class", "reason", "depth", "mock", "strategy_json")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTINS_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    PACKS_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    RECALL_CLASS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_JSON_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtins: _containers.RepeatedScalarFieldContainer[str]
    lots: _containers.RepeatedScalarFieldContainer[str]
    packs: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackIdentifier]
    line: str
    window_start: str
    window_end: str
    recall_class: str
    reason: str
    depth: str
    mock: bool
    strategy_json: bytes
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtins: _Optional[_Iterable[str]] = ..., lots: _Optional[_Iterable[str]] = ..., packs: _Optional[_Iterable[_Union[_common_pb2.PackIdentifier, _Mapping]]] = ..., line: _Optional[str] = ..., window_start: _Optional[str] = ..., window_end: _Optional[str] = ..., recall_class: _Optional[str] = ..., reason: _Optional[str] = ..., depth: _Optional[str] = ..., mock: _Optional[bool] = ..., strategy_json: _Optional[bytes] = ...) -> None: ...

class CreateRecallResponse(_message.Message):
    __slots__ = ("recall_id", "units", "mock", "status", "units_by_location", "units_not_yet_shipped", "unknown_units")
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UNITS_BY_LOCATION_FIELD_NUMBER: _ClassVar[int]
    UNITS_NOT_YET_SHIPPED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_UNITS_FIELD_NUMBER: _ClassVar[int]
    recall_id: str
    units: int
    mock: bool
    status: str
    units_by_location: _containers.RepeatedCompositeFieldContainer[UnitsAtLocation]
    units_not_yet_shipped: int
    unknown_units: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, recall_id: _Optional[str] = ..., units: _Optional[int] = ..., mock: _Optional[bool] = ..., status: _Optional[str] = ..., units_by_location: _Optional[_Iterable[_Union[UnitsAtLocation, _Mapping]]] = ..., units_not_yet_shipped: _Optional[int] = ..., unknown_units: _Optional[_Iterable[str]] = ...) -> None: ...

class LocationDetails(_message.Message):
    __slots__ = ("name", "street", "city", "state", "postal_code", "country_code", "address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STREET_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    street: str
    city: str
    state: str
    postal_code: str
    country_code: str
    address: str
    def __init__(self, name: _Optional[str] = ..., street: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., postal_code: _Optional[str] = ..., country_code: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class UnitsAtLocation(_message.Message):
    __slots__ = ("gln", "partner", "units", "location")
    GLN_FIELD_NUMBER: _ClassVar[int]
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    gln: str
    partner: str
    units: int
    location: LocationDetails
    def __init__(self, gln: _Optional[str] = ..., partner: _Optional[str] = ..., units: _Optional[int] = ..., location: _Optional[_Union[LocationDetails, _Mapping]] = ...) -> None: ...

class PreviewRecallResponse(_message.Message):
    __slots__ = ("units", "units_by_location", "units_not_yet_shipped", "unknown_units")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    UNITS_BY_LOCATION_FIELD_NUMBER: _ClassVar[int]
    UNITS_NOT_YET_SHIPPED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_UNITS_FIELD_NUMBER: _ClassVar[int]
    units: int
    units_by_location: _containers.RepeatedCompositeFieldContainer[UnitsAtLocation]
    units_not_yet_shipped: int
    unknown_units: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, units: _Optional[int] = ..., units_by_location: _Optional[_Iterable[_Union[UnitsAtLocation, _Mapping]]] = ..., units_not_yet_shipped: _Optional[int] = ..., unknown_units: _Optional[_Iterable[str]] = ...) -> None: ...

class ExtendRecallRequest(_message.Message):
    __slots__ = ("caller", "recall_id", "scope")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    scope: CreateRecallRequest
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ..., scope: _Optional[_Union[CreateRecallRequest, _Mapping]] = ...) -> None: ...

class CloseRecallRequest(_message.Message):
    __slots__ = ("caller", "recall_id", "reason")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    reason: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UpdateRecallStrategyRequest(_message.Message):
    __slots__ = ("caller", "recall_id", "changes_json")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_JSON_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    changes_json: bytes
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ..., changes_json: _Optional[bytes] = ...) -> None: ...

class GetRecallStatusReportRequest(_message.Message):
    __slots__ = ("caller", "recall_id", "at", "period_start")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    at: str
    period_start: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ..., at: _Optional[str] = ..., period_start: _Optional[str] = ...) -> None: ...

class GetRecallNoticeRequest(_message.Message):
    __slots__ = ("caller", "recall_id", "partner_id")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    partner_id: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ..., partner_id: _Optional[str] = ...) -> None: ...

class StreamRecallReportResponse(_message.Message):
    __slots__ = ("recall", "rows")
    RECALL_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    recall: Recall
    rows: ReportRows
    def __init__(self, recall: _Optional[_Union[Recall, _Mapping]] = ..., rows: _Optional[_Union[ReportRows, _Mapping]] = ...) -> None: ...

class ReportRows(_message.Message):
    __slots__ = ("gtins", "serials", "lots", "states", "last_locations", "last_partners", "last_seen", "notified_at", "acknowledged_at", "actions")
    GTINS_FIELD_NUMBER: _ClassVar[int]
    SERIALS_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    LAST_LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    LAST_PARTNERS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    gtins: _containers.RepeatedScalarFieldContainer[str]
    serials: _containers.RepeatedScalarFieldContainer[str]
    lots: _containers.RepeatedScalarFieldContainer[str]
    states: _containers.RepeatedScalarFieldContainer[str]
    last_locations: _containers.RepeatedScalarFieldContainer[str]
    last_partners: _containers.RepeatedScalarFieldContainer[str]
    last_seen: _containers.RepeatedScalarFieldContainer[str]
    notified_at: _containers.RepeatedScalarFieldContainer[str]
    acknowledged_at: _containers.RepeatedScalarFieldContainer[str]
    actions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, gtins: _Optional[_Iterable[str]] = ..., serials: _Optional[_Iterable[str]] = ..., lots: _Optional[_Iterable[str]] = ..., states: _Optional[_Iterable[str]] = ..., last_locations: _Optional[_Iterable[str]] = ..., last_partners: _Optional[_Iterable[str]] = ..., last_seen: _Optional[_Iterable[str]] = ..., notified_at: _Optional[_Iterable[str]] = ..., acknowledged_at: _Optional[_Iterable[str]] = ..., actions: _Optional[_Iterable[str]] = ...) -> None: ...

class AcknowledgeRecallRequest(_message.Message):
    __slots__ = ("caller", "recall_id", "packs", "action", "note", "lots")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    PACKS_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    packs: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackIdentifier]
    action: str
    note: str
    lots: _containers.RepeatedCompositeFieldContainer[LotQuantity]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ..., packs: _Optional[_Iterable[_Union[_common_pb2.PackIdentifier, _Mapping]]] = ..., action: _Optional[str] = ..., note: _Optional[str] = ..., lots: _Optional[_Iterable[_Union[LotQuantity, _Mapping]]] = ...) -> None: ...

class LotQuantity(_message.Message):
    __slots__ = ("lot", "quantity")
    LOT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    lot: str
    quantity: int
    def __init__(self, lot: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class RecordEffectivenessCheckRequest(_message.Message):
    __slots__ = ("caller", "recall_id", "partner_id", "checked_by", "method", "result", "note")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BY_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    partner_id: str
    checked_by: str
    method: str
    result: str
    note: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ..., partner_id: _Optional[str] = ..., checked_by: _Optional[str] = ..., method: _Optional[str] = ..., result: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class EffectivenessCheck(_message.Message):
    __slots__ = ("partner", "at", "checked_by", "method", "result", "note")
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BY_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    partner: str
    at: str
    checked_by: str
    method: str
    result: str
    note: str
    def __init__(self, partner: _Optional[str] = ..., at: _Optional[str] = ..., checked_by: _Optional[str] = ..., method: _Optional[str] = ..., result: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class AcknowledgeRecallResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackResult]
    def __init__(self, results: _Optional[_Iterable[_Union[_common_pb2.PackResult, _Mapping]]] = ...) -> None: ...

class ListRecallTasksRequest(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ...) -> None: ...

class RecallHeader(_message.Message):
    __slots__ = ("id", "recall_class", "reason", "depth", "mock", "published_at", "status", "closed_at", "close_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    RECALL_CLASS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    recall_class: str
    reason: str
    depth: str
    mock: bool
    published_at: str
    status: str
    closed_at: str
    close_reason: str
    def __init__(self, id: _Optional[str] = ..., recall_class: _Optional[str] = ..., reason: _Optional[str] = ..., depth: _Optional[str] = ..., mock: _Optional[bool] = ..., published_at: _Optional[str] = ..., status: _Optional[str] = ..., closed_at: _Optional[str] = ..., close_reason: _Optional[str] = ...) -> None: ...

class NoticeProduct(_message.Message):
    __slots__ = ("gtin", "lots", "units")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    lots: _containers.RepeatedScalarFieldContainer[str]
    units: int
    def __init__(self, gtin: _Optional[str] = ..., lots: _Optional[_Iterable[str]] = ..., units: _Optional[int] = ...) -> None: ...

class RecallNotice(_message.Message):
    __slots__ = ("heading", "products", "reason", "what_to_do", "respond", "contact", "public_warning")
    HEADING_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WHAT_TO_DO_FIELD_NUMBER: _ClassVar[int]
    RESPOND_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_WARNING_FIELD_NUMBER: _ClassVar[int]
    heading: str
    products: _containers.RepeatedCompositeFieldContainer[NoticeProduct]
    reason: str
    what_to_do: str
    respond: str
    contact: str
    public_warning: str
    def __init__(self, heading: _Optional[str] = ..., products: _Optional[_Iterable[_Union[NoticeProduct, _Mapping]]] = ..., reason: _Optional[str] = ..., what_to_do: _Optional[str] = ..., respond: _Optional[str] = ..., contact: _Optional[str] = ..., public_warning: _Optional[str] = ...) -> None: ...

class OpenUnit(_message.Message):
    __slots__ = ("gtin", "serial", "lot", "gln")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    GLN_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    serial: str
    lot: str
    gln: str
    def __init__(self, gtin: _Optional[str] = ..., serial: _Optional[str] = ..., lot: _Optional[str] = ..., gln: _Optional[str] = ...) -> None: ...

class RecallTask(_message.Message):
    __slots__ = ("recall", "notice", "units_open", "units_acknowledged", "locations")
    RECALL_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    UNITS_OPEN_FIELD_NUMBER: _ClassVar[int]
    UNITS_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    recall: RecallHeader
    notice: RecallNotice
    units_open: _containers.RepeatedCompositeFieldContainer[OpenUnit]
    units_acknowledged: int
    locations: _containers.RepeatedCompositeFieldContainer[HolderLocation]
    def __init__(self, recall: _Optional[_Union[RecallHeader, _Mapping]] = ..., notice: _Optional[_Union[RecallNotice, _Mapping]] = ..., units_open: _Optional[_Iterable[_Union[OpenUnit, _Mapping]]] = ..., units_acknowledged: _Optional[int] = ..., locations: _Optional[_Iterable[_Union[HolderLocation, _Mapping]]] = ...) -> None: ...

class HolderLocation(_message.Message):
    __slots__ = ("gln", "name", "address")
    GLN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    gln: str
    name: str
    address: str
    def __init__(self, gln: _Optional[str] = ..., name: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class NoticeHolder(_message.Message):
    __slots__ = ("partner", "name", "locations")
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    partner: str
    name: str
    locations: _containers.RepeatedCompositeFieldContainer[HolderLocation]
    def __init__(self, partner: _Optional[str] = ..., name: _Optional[str] = ..., locations: _Optional[_Iterable[_Union[HolderLocation, _Mapping]]] = ...) -> None: ...

class GetRecallNoticeResponse(_message.Message):
    __slots__ = ("recall", "holder", "notified_at", "notified_by", "notice")
    RECALL_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_BY_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    recall: RecallHeader
    holder: NoticeHolder
    notified_at: str
    notified_by: str
    notice: RecallNotice
    def __init__(self, recall: _Optional[_Union[RecallHeader, _Mapping]] = ..., holder: _Optional[_Union[NoticeHolder, _Mapping]] = ..., notified_at: _Optional[str] = ..., notified_by: _Optional[str] = ..., notice: _Optional[_Union[RecallNotice, _Mapping]] = ...) -> None: ...

class ListRecallTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[RecallTask]
    def __init__(self, tasks: _Optional[_Iterable[_Union[RecallTask, _Mapping]]] = ...) -> None: ...

class ReportedConsignee(_message.Message):
    __slots__ = ("partner", "name", "glns", "locations", "units_held", "lots", "notified_at", "notified_by", "responded_at", "units_acknowledged", "quantity_on_hand", "actions", "note", "status", "overdue", "reminders")
    class LotsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ActionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GLNS_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    UNITS_HELD_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_BY_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_AT_FIELD_NUMBER: _ClassVar[int]
    UNITS_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_ON_HAND_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    REMINDERS_FIELD_NUMBER: _ClassVar[int]
    partner: str
    name: str
    glns: _containers.RepeatedScalarFieldContainer[str]
    locations: _containers.RepeatedCompositeFieldContainer[HolderLocation]
    units_held: int
    lots: _containers.ScalarMap[str, int]
    notified_at: str
    notified_by: str
    responded_at: str
    units_acknowledged: int
    quantity_on_hand: int
    actions: _containers.ScalarMap[str, int]
    note: str
    status: str
    overdue: bool
    reminders: int
    def __init__(self, partner: _Optional[str] = ..., name: _Optional[str] = ..., glns: _Optional[_Iterable[str]] = ..., locations: _Optional[_Iterable[_Union[HolderLocation, _Mapping]]] = ..., units_held: _Optional[int] = ..., lots: _Optional[_Mapping[str, int]] = ..., notified_at: _Optional[str] = ..., notified_by: _Optional[str] = ..., responded_at: _Optional[str] = ..., units_acknowledged: _Optional[int] = ..., quantity_on_hand: _Optional[int] = ..., actions: _Optional[_Mapping[str, int]] = ..., note: _Optional[str] = ..., status: _Optional[str] = ..., overdue: _Optional[bool] = ..., reminders: _Optional[int] = ...) -> None: ...

class ReportedCheck(_message.Message):
    __slots__ = ("partner", "name", "at", "checked_by", "method", "result", "note")
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BY_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    partner: str
    name: str
    at: str
    checked_by: str
    method: str
    result: str
    note: str
    def __init__(self, partner: _Optional[str] = ..., name: _Optional[str] = ..., at: _Optional[str] = ..., checked_by: _Optional[str] = ..., method: _Optional[str] = ..., result: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ReportedChecks(_message.Message):
    __slots__ = ("level", "share", "due", "done", "results", "checks")
    class ResultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    level: str
    share: float
    due: int
    done: int
    results: _containers.ScalarMap[str, int]
    checks: _containers.RepeatedCompositeFieldContainer[ReportedCheck]
    def __init__(self, level: _Optional[str] = ..., share: _Optional[float] = ..., due: _Optional[int] = ..., done: _Optional[int] = ..., results: _Optional[_Mapping[str, int]] = ..., checks: _Optional[_Iterable[_Union[ReportedCheck, _Mapping]]] = ...) -> None: ...

class EstimatedCompletion(_message.Message):
    __slots__ = ("complete", "at", "basis")
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    complete: bool
    at: str
    basis: str
    def __init__(self, complete: _Optional[bool] = ..., at: _Optional[str] = ..., basis: _Optional[str] = ...) -> None: ...

class ReportPeriod(_message.Message):
    __slots__ = ("to", "consignees_notified", "consignees_responding", "effectiveness_checks")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEES_NOTIFIED_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEES_RESPONDING_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVENESS_CHECKS_FIELD_NUMBER: _ClassVar[int]
    to: str
    consignees_notified: int
    consignees_responding: int
    effectiveness_checks: int
    def __init__(self, to: _Optional[str] = ..., consignees_notified: _Optional[int] = ..., consignees_responding: _Optional[int] = ..., effectiveness_checks: _Optional[int] = ..., **kwargs) -> None: ...

class GetRecallStatusReportResponse(_message.Message):
    __slots__ = ("recall", "as_of", "strategy", "consignees", "consignees_notified", "consignees_responding", "consignees_not_responding", "consignees_overdue", "units", "units_acknowledged", "quantity_on_hand", "effectiveness_checks", "estimated_completion", "consignee_rows", "period")
    RECALL_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEES_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEES_NOTIFIED_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEES_RESPONDING_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEES_NOT_RESPONDING_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEES_OVERDUE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    UNITS_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_ON_HAND_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVENESS_CHECKS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COMPLETION_FIELD_NUMBER: _ClassVar[int]
    CONSIGNEE_ROWS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    recall: RecallHeader
    as_of: str
    strategy: RecallStrategy
    consignees: int
    consignees_notified: int
    consignees_responding: int
    consignees_not_responding: int
    consignees_overdue: int
    units: int
    units_acknowledged: int
    quantity_on_hand: int
    effectiveness_checks: ReportedChecks
    estimated_completion: EstimatedCompletion
    consignee_rows: _containers.RepeatedCompositeFieldContainer[ReportedConsignee]
    period: ReportPeriod
    def __init__(self, recall: _Optional[_Union[RecallHeader, _Mapping]] = ..., as_of: _Optional[str] = ..., strategy: _Optional[_Union[RecallStrategy, _Mapping]] = ..., consignees: _Optional[int] = ..., consignees_notified: _Optional[int] = ..., consignees_responding: _Optional[int] = ..., consignees_not_responding: _Optional[int] = ..., consignees_overdue: _Optional[int] = ..., units: _Optional[int] = ..., units_acknowledged: _Optional[int] = ..., quantity_on_hand: _Optional[int] = ..., effectiveness_checks: _Optional[_Union[ReportedChecks, _Mapping]] = ..., estimated_completion: _Optional[_Union[EstimatedCompletion, _Mapping]] = ..., consignee_rows: _Optional[_Iterable[_Union[ReportedConsignee, _Mapping]]] = ..., period: _Optional[_Union[ReportPeriod, _Mapping]] = ...) -> None: ...

class PackEvent(_message.Message):
    __slots__ = ("gtin", "serial", "event", "partner_id", "gln", "at", "detail", "kind", "possession_attested", "outcome")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    GLN_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_ATTESTED_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    serial: str
    event: str
    partner_id: str
    gln: str
    at: float
    detail: str
    kind: PackEventKind
    possession_attested: bool
    outcome: str
    def __init__(self, gtin: _Optional[str] = ..., serial: _Optional[str] = ..., event: _Optional[str] = ..., partner_id: _Optional[str] = ..., gln: _Optional[str] = ..., at: _Optional[float] = ..., detail: _Optional[str] = ..., kind: _Optional[_Union[PackEventKind, str]] = ..., possession_attested: _Optional[bool] = ..., outcome: _Optional[str] = ...) -> None: ...

class PackEventBatch(_message.Message):
    __slots__ = ("event", "partner_id", "gln", "at", "gtins", "serials", "details", "kinds", "possession_attested")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    GLN_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    GTINS_FIELD_NUMBER: _ClassVar[int]
    SERIALS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_ATTESTED_FIELD_NUMBER: _ClassVar[int]
    event: str
    partner_id: str
    gln: str
    at: float
    gtins: _containers.RepeatedScalarFieldContainer[str]
    serials: _containers.RepeatedScalarFieldContainer[str]
    details: _containers.RepeatedScalarFieldContainer[str]
    kinds: _containers.RepeatedScalarFieldContainer[PackEventKind]
    possession_attested: bool
    def __init__(self, event: _Optional[str] = ..., partner_id: _Optional[str] = ..., gln: _Optional[str] = ..., at: _Optional[float] = ..., gtins: _Optional[_Iterable[str]] = ..., serials: _Optional[_Iterable[str]] = ..., details: _Optional[_Iterable[str]] = ..., kinds: _Optional[_Iterable[_Union[PackEventKind, str]]] = ..., possession_attested: _Optional[bool] = ...) -> None: ...

class RecordPackEventsRequest(_message.Message):
    __slots__ = ("events", "batches", "call_id", "timeout_seconds")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[PackEvent]
    batches: _containers.RepeatedCompositeFieldContainer[PackEventBatch]
    call_id: int
    timeout_seconds: float
    def __init__(self, events: _Optional[_Iterable[_Union[PackEvent, _Mapping]]] = ..., batches: _Optional[_Iterable[_Union[PackEventBatch, _Mapping]]] = ..., call_id: _Optional[int] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class RecordPackEventsResponse(_message.Message):
    __slots__ = ("recorded", "call_id", "error")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    call_id: int
    error: _common_pb2.RpcError
    def __init__(self, recorded: _Optional[int] = ..., call_id: _Optional[int] = ..., error: _Optional[_Union[_common_pb2.RpcError, _Mapping]] = ...) -> None: ...

class GetPackHistoryRequest(_message.Message):
    __slots__ = ("caller", "gtin", "serial")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtin: str
    serial: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtin: _Optional[str] = ..., serial: _Optional[str] = ...) -> None: ...

class HistoryEvent(_message.Message):
    __slots__ = ("entry", "location")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    entry: bytes
    location: LocationDetails
    def __init__(self, entry: _Optional[bytes] = ..., location: _Optional[_Union[LocationDetails, _Mapping]] = ...) -> None: ...

class GetPackHistoryResponse(_message.Message):
    __slots__ = ("gtin", "serial", "lot", "expiry", "state", "events", "received")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    serial: str
    lot: str
    expiry: str
    state: str
    events: _containers.RepeatedCompositeFieldContainer[HistoryEvent]
    received: str
    def __init__(self, gtin: _Optional[str] = ..., serial: _Optional[str] = ..., lot: _Optional[str] = ..., expiry: _Optional[str] = ..., state: _Optional[str] = ..., events: _Optional[_Iterable[_Union[HistoryEvent, _Mapping]]] = ..., received: _Optional[str] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("caller", "gtin", "recall_id", "limit")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtin: str
    recall_id: str
    limit: int
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtin: _Optional[str] = ..., recall_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class VerifyAuditRequest(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "hash", "entry")
    ID_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    id: str
    hash: str
    entry: bytes
    def __init__(self, id: _Optional[str] = ..., hash: _Optional[str] = ..., entry: _Optional[bytes] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("chain", "entries")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    chain: str
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, chain: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class AuditChainCheck(_message.Message):
    __slots__ = ("chain", "ok", "entries_checked", "first_broken_entry", "problem")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_ENTRY_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    chain: str
    ok: bool
    entries_checked: int
    first_broken_entry: str
    problem: str
    def __init__(self, chain: _Optional[str] = ..., ok: _Optional[bool] = ..., entries_checked: _Optional[int] = ..., first_broken_entry: _Optional[str] = ..., problem: _Optional[str] = ...) -> None: ...

class VerifyAuditResponse(_message.Message):
    __slots__ = ("ok", "chains", "broken", "entries_checked")
    OK_FIELD_NUMBER: _ClassVar[int]
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    BROKEN_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    chains: int
    broken: _containers.RepeatedCompositeFieldContainer[AuditChainCheck]
    entries_checked: int
    def __init__(self, ok: _Optional[bool] = ..., chains: _Optional[int] = ..., broken: _Optional[_Iterable[_Union[AuditChainCheck, _Mapping]]] = ..., entries_checked: _Optional[int] = ...) -> None: ...

class GetRecallRequest(_message.Message):
    __slots__ = ("caller", "recall_id")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ...) -> None: ...

class RecallScopeEntry(_message.Message):
    __slots__ = ("gtins", "lots", "units_listed", "line", "window_start", "window_end")
    GTINS_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    UNITS_LISTED_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    gtins: _containers.RepeatedScalarFieldContainer[str]
    lots: _containers.RepeatedScalarFieldContainer[str]
    units_listed: int
    line: str
    window_start: str
    window_end: str
    def __init__(self, gtins: _Optional[_Iterable[str]] = ..., lots: _Optional[_Iterable[str]] = ..., units_listed: _Optional[int] = ..., line: _Optional[str] = ..., window_start: _Optional[str] = ..., window_end: _Optional[str] = ...) -> None: ...

class RecallStrategy(_message.Message):
    __slots__ = ("depth", "public_warning", "public_warning_by", "check_level", "check_share", "external_reference", "contact", "reminder_days")
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_WARNING_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_WARNING_BY_FIELD_NUMBER: _ClassVar[int]
    CHECK_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CHECK_SHARE_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    REMINDER_DAYS_FIELD_NUMBER: _ClassVar[int]
    depth: str
    public_warning: bool
    public_warning_by: str
    check_level: str
    check_share: float
    external_reference: str
    contact: str
    reminder_days: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, depth: _Optional[str] = ..., public_warning: _Optional[bool] = ..., public_warning_by: _Optional[str] = ..., check_level: _Optional[str] = ..., check_share: _Optional[float] = ..., external_reference: _Optional[str] = ..., contact: _Optional[str] = ..., reminder_days: _Optional[_Iterable[float]] = ...) -> None: ...

class EffectivenessPoint(_message.Message):
    __slots__ = ("hours", "notified", "acknowledged")
    HOURS_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    hours: int
    notified: float
    acknowledged: float
    def __init__(self, hours: _Optional[int] = ..., notified: _Optional[float] = ..., acknowledged: _Optional[float] = ...) -> None: ...

class HolderEffectiveness(_message.Message):
    __slots__ = ("partner", "units", "notified_at", "acknowledged")
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    partner: str
    units: int
    notified_at: str
    acknowledged: int
    def __init__(self, partner: _Optional[str] = ..., units: _Optional[int] = ..., notified_at: _Optional[str] = ..., acknowledged: _Optional[int] = ...) -> None: ...

class DrillTimings(_message.Message):
    __slots__ = ("seconds_to_scope", "seconds_to_first_notification", "seconds_to_first_acknowledgement", "seconds_to_90_percent_acknowledged")
    SECONDS_TO_SCOPE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_TO_FIRST_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    SECONDS_TO_FIRST_ACKNOWLEDGEMENT_FIELD_NUMBER: _ClassVar[int]
    SECONDS_TO_90_PERCENT_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    seconds_to_scope: float
    seconds_to_first_notification: float
    seconds_to_first_acknowledgement: float
    seconds_to_90_percent_acknowledged: float
    def __init__(self, seconds_to_scope: _Optional[float] = ..., seconds_to_first_notification: _Optional[float] = ..., seconds_to_first_acknowledgement: _Optional[float] = ..., seconds_to_90_percent_acknowledged: _Optional[float] = ...) -> None: ...

class Recall(_message.Message):
    __slots__ = ("id", "owner", "recall_class", "reason", "depth", "mock", "status", "published_at", "scopes", "strategy", "units", "units_by_location", "units_not_yet_shipped", "located", "notified", "acknowledged", "effectiveness", "holders", "closed_at", "close_reason", "drill")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    RECALL_CLASS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    UNITS_BY_LOCATION_FIELD_NUMBER: _ClassVar[int]
    UNITS_NOT_YET_SHIPPED_FIELD_NUMBER: _ClassVar[int]
    LOCATED_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVENESS_FIELD_NUMBER: _ClassVar[int]
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSE_REASON_FIELD_NUMBER: _ClassVar[int]
    DRILL_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    recall_class: str
    reason: str
    depth: str
    mock: bool
    status: str
    published_at: str
    scopes: _containers.RepeatedCompositeFieldContainer[RecallScopeEntry]
    strategy: RecallStrategy
    units: int
    units_by_location: _containers.RepeatedCompositeFieldContainer[UnitsAtLocation]
    units_not_yet_shipped: int
    located: int
    notified: int
    acknowledged: int
    effectiveness: _containers.RepeatedCompositeFieldContainer[EffectivenessPoint]
    holders: _containers.RepeatedCompositeFieldContainer[HolderEffectiveness]
    closed_at: str
    close_reason: str
    drill: DrillTimings
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., recall_class: _Optional[str] = ..., reason: _Optional[str] = ..., depth: _Optional[str] = ..., mock: _Optional[bool] = ..., status: _Optional[str] = ..., published_at: _Optional[str] = ..., scopes: _Optional[_Iterable[_Union[RecallScopeEntry, _Mapping]]] = ..., strategy: _Optional[_Union[RecallStrategy, _Mapping]] = ..., units: _Optional[int] = ..., units_by_location: _Optional[_Iterable[_Union[UnitsAtLocation, _Mapping]]] = ..., units_not_yet_shipped: _Optional[int] = ..., located: _Optional[int] = ..., notified: _Optional[int] = ..., acknowledged: _Optional[int] = ..., effectiveness: _Optional[_Iterable[_Union[EffectivenessPoint, _Mapping]]] = ..., holders: _Optional[_Iterable[_Union[HolderEffectiveness, _Mapping]]] = ..., closed_at: _Optional[str] = ..., close_reason: _Optional[str] = ..., drill: _Optional[_Union[DrillTimings, _Mapping]] = ...) -> None: ...

class GetRecallResponse(_message.Message):
    __slots__ = ("recall",)
    RECALL_FIELD_NUMBER: _ClassVar[int]
    recall: Recall
    def __init__(self, recall: _Optional[_Union[Recall, _Mapping]] = ...) -> None: ...

class ExtendRecallResponse(_message.Message):
    __slots__ = ("recall", "added_units", "unknown_units")
    RECALL_FIELD_NUMBER: _ClassVar[int]
    ADDED_UNITS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_UNITS_FIELD_NUMBER: _ClassVar[int]
    recall: Recall
    added_units: int
    unknown_units: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, recall: _Optional[_Union[Recall, _Mapping]] = ..., added_units: _Optional[int] = ..., unknown_units: _Optional[_Iterable[str]] = ...) -> None: ...

class CloseRecallResponse(_message.Message):
    __slots__ = ("recall",)
    RECALL_FIELD_NUMBER: _ClassVar[int]
    recall: Recall
    def __init__(self, recall: _Optional[_Union[Recall, _Mapping]] = ...) -> None: ...

class UpdateRecallStrategyResponse(_message.Message):
    __slots__ = ("recall",)
    RECALL_FIELD_NUMBER: _ClassVar[int]
    recall: Recall
    def __init__(self, recall: _Optional[_Union[Recall, _Mapping]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("name", "partner_id", "url", "events", "updated_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    partner_id: str
    url: str
    events: _containers.RepeatedScalarFieldContainer[str]
    updated_at: str
    def __init__(self, name: _Optional[str] = ..., partner_id: _Optional[str] = ..., url: _Optional[str] = ..., events: _Optional[_Iterable[str]] = ..., updated_at: _Optional[str] = ...) -> None: ...

class PutSubscriptionRequest(_message.Message):
    __slots__ = ("caller", "subscription")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    subscription: Subscription
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class PutSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "created")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    created: bool
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListSubscriptionsRequest(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ...) -> None: ...

class ListSubscriptionsResponse(_message.Message):
    __slots__ = ("subscriptions",)
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("caller", "recall_id")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    RECALL_ID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    recall_id: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., recall_id: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("notification_id", "partner_id", "url", "attempt", "outcome", "http_status", "error", "at", "drill")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    DRILL_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    partner_id: str
    url: str
    attempt: int
    outcome: str
    http_status: int
    error: str
    at: str
    drill: bool
    def __init__(self, notification_id: _Optional[str] = ..., partner_id: _Optional[str] = ..., url: _Optional[str] = ..., attempt: _Optional[int] = ..., outcome: _Optional[str] = ..., http_status: _Optional[int] = ..., error: _Optional[str] = ..., at: _Optional[str] = ..., drill: _Optional[bool] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class ListRecallsRequest(_message.Message):
    __slots__ = ("caller", "status", "limit")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    status: str
    limit: int
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., status: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class RecallSummary(_message.Message):
    __slots__ = ("id", "recall_class", "reason", "depth", "mock", "status", "published_at", "units")
    ID_FIELD_NUMBER: _ClassVar[int]
    RECALL_CLASS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    id: str
    recall_class: str
    reason: str
    depth: str
    mock: bool
    status: str
    published_at: str
    units: int
    def __init__(self, id: _Optional[str] = ..., recall_class: _Optional[str] = ..., reason: _Optional[str] = ..., depth: _Optional[str] = ..., mock: _Optional[bool] = ..., status: _Optional[str] = ..., published_at: _Optional[str] = ..., units: _Optional[int] = ...) -> None: ...

class ListRecallsResponse(_message.Message):
    __slots__ = ("recalls",)
    RECALLS_FIELD_NUMBER: _ClassVar[int]
    recalls: _containers.RepeatedCompositeFieldContainer[RecallSummary]
    def __init__(self, recalls: _Optional[_Iterable[_Union[RecallSummary, _Mapping]]] = ...) -> None: ...

class CaptureEventsRequest(_message.Message):
    __slots__ = ("caller", "events", "commit")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    events: _containers.RepeatedCompositeFieldContainer[CustodyEvent]
    commit: bool
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., events: _Optional[_Iterable[_Union[CustodyEvent, _Mapping]]] = ..., commit: _Optional[bool] = ...) -> None: ...

class CustodyEvent(_message.Message):
    __slots__ = ("index", "event_id", "event_hash", "type", "action", "biz_step", "disposition", "event_time", "location_gln", "units", "containers", "parent", "sources", "destinations", "biz_transactions", "lot", "expiry", "notes")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_HASH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    BIZ_STEP_FIELD_NUMBER: _ClassVar[int]
    DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    LOCATION_GLN_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    BIZ_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    index: int
    event_id: str
    event_hash: bytes
    type: str
    action: str
    biz_step: str
    disposition: str
    event_time: float
    location_gln: str
    units: _containers.RepeatedScalarFieldContainer[str]
    containers: _containers.RepeatedScalarFieldContainer[str]
    parent: str
    sources: _containers.RepeatedCompositeFieldContainer[CustodyParty]
    destinations: _containers.RepeatedCompositeFieldContainer[CustodyParty]
    biz_transactions: _containers.RepeatedScalarFieldContainer[str]
    lot: str
    expiry: str
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, index: _Optional[int] = ..., event_id: _Optional[str] = ..., event_hash: _Optional[bytes] = ..., type: _Optional[str] = ..., action: _Optional[str] = ..., biz_step: _Optional[str] = ..., disposition: _Optional[str] = ..., event_time: _Optional[float] = ..., location_gln: _Optional[str] = ..., units: _Optional[_Iterable[str]] = ..., containers: _Optional[_Iterable[str]] = ..., parent: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[CustodyParty, _Mapping]]] = ..., destinations: _Optional[_Iterable[_Union[CustodyParty, _Mapping]]] = ..., biz_transactions: _Optional[_Iterable[str]] = ..., lot: _Optional[str] = ..., expiry: _Optional[str] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordReceivedDocumentRequest(_message.Message):
    __slots__ = ("caller", "reference", "receiver_gln", "events", "units", "received_at")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_GLN_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    reference: str
    receiver_gln: str
    events: _containers.RepeatedCompositeFieldContainer[CustodyEvent]
    units: _containers.RepeatedScalarFieldContainer[str]
    received_at: float
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., reference: _Optional[str] = ..., receiver_gln: _Optional[str] = ..., events: _Optional[_Iterable[_Union[CustodyEvent, _Mapping]]] = ..., units: _Optional[_Iterable[str]] = ..., received_at: _Optional[float] = ...) -> None: ...

class RecordReceivedDocumentResponse(_message.Message):
    __slots__ = ("duplicate", "units", "received", "recorded", "events")
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    units: int
    received: int
    recorded: int
    events: int
    def __init__(self, duplicate: _Optional[bool] = ..., units: _Optional[int] = ..., received: _Optional[int] = ..., recorded: _Optional[int] = ..., events: _Optional[int] = ...) -> None: ...

class CustodyParty(_message.Message):
    __slots__ = ("type", "gln")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    GLN_FIELD_NUMBER: _ClassVar[int]
    type: str
    gln: str
    def __init__(self, type: _Optional[str] = ..., gln: _Optional[str] = ...) -> None: ...

class EventRefusal(_message.Message):
    __slots__ = ("index", "event_id", "code", "message", "kind")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    index: int
    event_id: str
    code: str
    message: str
    kind: str
    def __init__(self, index: _Optional[int] = ..., event_id: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class CaptureEventsResponse(_message.Message):
    __slots__ = ("applied", "events", "duplicates", "unit_events", "commissioned", "state_changes", "refusals", "refused")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    UNIT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONED_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGES_FIELD_NUMBER: _ClassVar[int]
    REFUSALS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    events: int
    duplicates: int
    unit_events: int
    commissioned: int
    state_changes: int
    refusals: _containers.RepeatedCompositeFieldContainer[EventRefusal]
    refused: int
    def __init__(self, applied: _Optional[bool] = ..., events: _Optional[int] = ..., duplicates: _Optional[int] = ..., unit_events: _Optional[int] = ..., commissioned: _Optional[int] = ..., state_changes: _Optional[int] = ..., refusals: _Optional[_Iterable[_Union[EventRefusal, _Mapping]]] = ..., refused: _Optional[int] = ...) -> None: ...

class LocationMasterData(_message.Message):
    __slots__ = ("gln", "name", "street", "city", "state", "postal_code", "country_code")
    GLN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STREET_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    gln: str
    name: str
    street: str
    city: str
    state: str
    postal_code: str
    country_code: str
    def __init__(self, gln: _Optional[str] = ..., name: _Optional[str] = ..., street: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., postal_code: _Optional[str] = ..., country_code: _Optional[str] = ...) -> None: ...

class PutLocationsRequest(_message.Message):
    __slots__ = ("caller", "locations")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    locations: _containers.RepeatedCompositeFieldContainer[LocationMasterData]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., locations: _Optional[_Iterable[_Union[LocationMasterData, _Mapping]]] = ...) -> None: ...

class PutLocationsResponse(_message.Message):
    __slots__ = ("stored",)
    STORED_FIELD_NUMBER: _ClassVar[int]
    stored: int
    def __init__(self, stored: _Optional[int] = ...) -> None: ...

class QueryEventsRequest(_message.Message):
    __slots__ = ("caller", "match_epc", "match_any_epc", "match_parent_id", "eq_biz_step", "eq_disposition", "eq_biz_location", "eq_read_point", "eq_event_id", "ge_event_time", "lt_event_time", "per_page", "page_token", "eq_biz_transaction", "captured_by_caller")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    MATCH_EPC_FIELD_NUMBER: _ClassVar[int]
    MATCH_ANY_EPC_FIELD_NUMBER: _ClassVar[int]
    MATCH_PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    EQ_BIZ_STEP_FIELD_NUMBER: _ClassVar[int]
    EQ_DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    EQ_BIZ_LOCATION_FIELD_NUMBER: _ClassVar[int]
    EQ_READ_POINT_FIELD_NUMBER: _ClassVar[int]
    EQ_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    GE_EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    LT_EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    PER_PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EQ_BIZ_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_BY_CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    match_epc: _containers.RepeatedScalarFieldContainer[str]
    match_any_epc: _containers.RepeatedScalarFieldContainer[str]
    match_parent_id: _containers.RepeatedScalarFieldContainer[str]
    eq_biz_step: _containers.RepeatedScalarFieldContainer[str]
    eq_disposition: _containers.RepeatedScalarFieldContainer[str]
    eq_biz_location: _containers.RepeatedScalarFieldContainer[str]
    eq_read_point: _containers.RepeatedScalarFieldContainer[str]
    eq_event_id: _containers.RepeatedScalarFieldContainer[str]
    ge_event_time: float
    lt_event_time: float
    per_page: int
    page_token: str
    eq_biz_transaction: _containers.RepeatedScalarFieldContainer[str]
    captured_by_caller: bool
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., match_epc: _Optional[_Iterable[str]] = ..., match_any_epc: _Optional[_Iterable[str]] = ..., match_parent_id: _Optional[_Iterable[str]] = ..., eq_biz_step: _Optional[_Iterable[str]] = ..., eq_disposition: _Optional[_Iterable[str]] = ..., eq_biz_location: _Optional[_Iterable[str]] = ..., eq_read_point: _Optional[_Iterable[str]] = ..., eq_event_id: _Optional[_Iterable[str]] = ..., ge_event_time: _Optional[float] = ..., lt_event_time: _Optional[float] = ..., per_page: _Optional[int] = ..., page_token: _Optional[str] = ..., eq_biz_transaction: _Optional[_Iterable[str]] = ..., captured_by_caller: _Optional[bool] = ...) -> None: ...

class QueryEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedScalarFieldContainer[bytes]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[bytes]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetWebhookKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Jwk(_message.Message):
    __slots__ = ("kty", "crv", "x", "kid", "use", "alg")
    KTY_FIELD_NUMBER: _ClassVar[int]
    CRV_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    KID_FIELD_NUMBER: _ClassVar[int]
    USE_FIELD_NUMBER: _ClassVar[int]
    ALG_FIELD_NUMBER: _ClassVar[int]
    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str
    def __init__(self, kty: _Optional[str] = ..., crv: _Optional[str] = ..., x: _Optional[str] = ..., kid: _Optional[str] = ..., use: _Optional[str] = ..., alg: _Optional[str] = ...) -> None: ...

class GetWebhookKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[Jwk]
    def __init__(self, keys: _Optional[_Iterable[_Union[Jwk, _Mapping]]] = ...) -> None: ...
