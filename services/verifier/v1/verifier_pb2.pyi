from verinet.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyLmsRequest(_message.Message):
    __slots__ = ("caller", "pack", "req_gln", "corr_uuid", "context", "query", "answer_members")
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnswerMembersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CALLER_FIELD_NUMBER: _ClassVar[int]
    PACK_FIELD_NUMBER: _ClassVar[int]
    REQ_GLN_FIELD_NUMBER: _ClassVar[int]
    CORR_UUID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    ANSWER_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    pack: _common_pb2.PackIdentifier
    req_gln: str
    corr_uuid: str
    context: str
    query: _containers.ScalarMap[str, str]
    answer_members: _containers.ScalarMap[str, str]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., pack: _Optional[_Union[_common_pb2.PackIdentifier, _Mapping]] = ..., req_gln: _Optional[str] = ..., corr_uuid: _Optional[str] = ..., context: _Optional[str] = ..., query: _Optional[_Mapping[str, str]] = ..., answer_members: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SignedHttpResponse(_message.Message):
    __slots__ = ("http_status", "body", "headers")
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
    http_status: int
    body: bytes
    headers: _containers.ScalarMap[str, str]
    def __init__(self, http_status: _Optional[int] = ..., body: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VerifyLmsResponse(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: SignedHttpResponse
    def __init__(self, response: _Optional[_Union[SignedHttpResponse, _Mapping]] = ...) -> None: ...

class VerifyLmsBatchRequest(_message.Message):
    __slots__ = ("requests", "call_id", "timeout_seconds")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[VerifyLmsRequest]
    call_id: int
    timeout_seconds: float
    def __init__(self, requests: _Optional[_Iterable[_Union[VerifyLmsRequest, _Mapping]]] = ..., call_id: _Optional[int] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class VerifyLmsBatchResponse(_message.Message):
    __slots__ = ("results", "call_id", "error")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[VerifyLmsResult]
    call_id: int
    error: _common_pb2.RpcError
    def __init__(self, results: _Optional[_Iterable[_Union[VerifyLmsResult, _Mapping]]] = ..., call_id: _Optional[int] = ..., error: _Optional[_Union[_common_pb2.RpcError, _Mapping]] = ...) -> None: ...

class VerifyLmsResult(_message.Message):
    __slots__ = ("response", "error", "remote")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    response: SignedHttpResponse
    error: _common_pb2.RpcError
    remote: bool
    def __init__(self, response: _Optional[_Union[SignedHttpResponse, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.RpcError, _Mapping]] = ..., remote: _Optional[bool] = ...) -> None: ...

class CheckConnectivityRequest(_message.Message):
    __slots__ = ("caller", "gtin", "req_gln", "query")
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CALLER_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    REQ_GLN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    gtin: str
    req_gln: str
    query: _containers.ScalarMap[str, str]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., gtin: _Optional[str] = ..., req_gln: _Optional[str] = ..., query: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CheckConnectivityResponse(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: SignedHttpResponse
    def __init__(self, response: _Optional[_Union[SignedHttpResponse, _Mapping]] = ...) -> None: ...

class VerifyPacksRequest(_message.Message):
    __slots__ = ("caller", "packs", "possession_attested")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    PACKS_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_ATTESTED_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    packs: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackIdentifier]
    possession_attested: bool
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., packs: _Optional[_Iterable[_Union[_common_pb2.PackIdentifier, _Mapping]]] = ..., possession_attested: _Optional[bool] = ...) -> None: ...

class VerifyPacksResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackResult]
    def __init__(self, results: _Optional[_Iterable[_Union[_common_pb2.PackResult, _Mapping]]] = ...) -> None: ...

class DecommissionPacksRequest(_message.Message):
    __slots__ = ("caller", "packs", "state", "transaction_id")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    PACKS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    packs: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackIdentifier]
    state: _common_pb2.PackState
    transaction_id: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., packs: _Optional[_Iterable[_Union[_common_pb2.PackIdentifier, _Mapping]]] = ..., state: _Optional[_Union[_common_pb2.PackState, str]] = ..., transaction_id: _Optional[str] = ...) -> None: ...

class DecommissionPacksResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackResult]
    def __init__(self, results: _Optional[_Iterable[_Union[_common_pb2.PackResult, _Mapping]]] = ...) -> None: ...

class ReactivatePacksRequest(_message.Message):
    __slots__ = ("caller", "packs", "transaction_id")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    PACKS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    packs: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackIdentifier]
    transaction_id: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., packs: _Optional[_Iterable[_Union[_common_pb2.PackIdentifier, _Mapping]]] = ..., transaction_id: _Optional[str] = ...) -> None: ...

class ReactivatePacksResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackResult]
    def __init__(self, results: _Optional[_Iterable[_Union[_common_pb2.PackResult, _Mapping]]] = ...) -> None: ...

class GetJwksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetJwksResponse(_message.Message):
    __slots__ = ("jwks_json",)
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    jwks_json: bytes
    def __init__(self, jwks_json: _Optional[bytes] = ...) -> None: ...
