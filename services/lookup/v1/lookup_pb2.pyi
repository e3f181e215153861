from verinet.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
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
    __slots__ = ("kind", "key", "owner_partner_id", "route", "remote_base_url", "responder_gln", "remote_credential", "expires_at", "updated_at", "has_credential", "network", "forward_timeout_seconds")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_BASE_URL_FIELD_NUMBER: _ClassVar[int]
    RESPONDER_GLN_FIELD_NUMBER: _ClassVar[int]
    REMOTE_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    HAS_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    FORWARD_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    kind: EntryKind
    key: str
    owner_partner_id: str
    route: RouteKind
    remote_base_url: str
    responder_gln: str
    remote_credential: str
    expires_at: str
    updated_at: str
    has_credential: bool
    network: str
    forward_timeout_seconds: float
    def __init__(self, kind: _Optional[_Union[EntryKind, str]] = ..., key: _Optional[str] = ..., owner_partner_id: _Optional[str] = ..., route: _Optional[_Union[RouteKind, str]] = ..., remote_base_url: _Optional[str] = ..., responder_gln: _Optional[str] = ..., remote_credential: _Optional[str] = ..., expires_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., has_credential: _Optional[bool] = ..., network: _Optional[str] = ..., forward_timeout_seconds: _Optional[float] = ...) -> None: ...

class ResolveRouteRequest(_message.Message):
    __slots__ = ("gtin",)
    GTIN_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    def __init__(self, gtin: _Optional[str] = ...) -> None: ...

class ResolveRouteResponse(_message.Message):
    __slots__ = ("found", "entry", "cache_seconds", "forward_timeout_seconds", "directory_version")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CACHE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FORWARD_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_VERSION_FIELD_NUMBER: _ClassVar[int]
    found: bool
    entry: DirectoryEntry
    cache_seconds: int
    forward_timeout_seconds: float
    directory_version: int
    def __init__(self, found: _Optional[bool] = ..., entry: _Optional[_Union[DirectoryEntry, _Mapping]] = ..., cache_seconds: _Optional[int] = ..., forward_timeout_seconds: _Optional[float] = ..., directory_version: _Optional[int] = ...) -> None: ...

class PutDirectoryEntryRequest(_message.Message):
    __slots__ = ("caller", "entry")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    entry: DirectoryEntry
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., entry: _Optional[_Union[DirectoryEntry, _Mapping]] = ...) -> None: ...

class PutDirectoryEntryResponse(_message.Message):
    __slots__ = ("entry", "created", "directory_version")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_VERSION_FIELD_NUMBER: _ClassVar[int]
    entry: DirectoryEntry
    created: bool
    directory_version: int
    def __init__(self, entry: _Optional[_Union[DirectoryEntry, _Mapping]] = ..., created: _Optional[bool] = ..., directory_version: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("deleted", "directory_version")
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_VERSION_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    directory_version: int
    def __init__(self, deleted: _Optional[bool] = ..., directory_version: _Optional[int] = ...) -> None: ...

class ImportDirectoryEntriesRequest(_message.Message):
    __slots__ = ("caller", "entries")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    entries: _containers.RepeatedCompositeFieldContainer[DirectoryEntry]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[DirectoryEntry, _Mapping]]] = ...) -> None: ...

class DirectoryImportResult(_message.Message):
    __slots__ = ("index", "ok", "created", "code", "message", "field")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    index: int
    ok: bool
    created: bool
    code: str
    message: str
    field: str
    def __init__(self, index: _Optional[int] = ..., ok: _Optional[bool] = ..., created: _Optional[bool] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class ImportDirectoryEntriesResponse(_message.Message):
    __slots__ = ("results", "directory_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[DirectoryImportResult]
    directory_version: int
    def __init__(self, results: _Optional[_Iterable[_Union[DirectoryImportResult, _Mapping]]] = ..., directory_version: _Optional[int] = ...) -> None: ...

class ForwardVerificationRequest(_message.Message):
    __slots__ = ("pack", "query", "caller")
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PACK_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    pack: _common_pb2.PackIdentifier
    query: _containers.ScalarMap[str, str]
    caller: _common_pb2.Caller
    def __init__(self, pack: _Optional[_Union[_common_pb2.PackIdentifier, _Mapping]] = ..., query: _Optional[_Mapping[str, str]] = ..., caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ...) -> None: ...

class ForwardVerificationResponse(_message.Message):
    __slots__ = ("http_status", "body", "headers", "remote", "attempts", "conformance_deviations")
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
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CONFORMANCE_DEVIATIONS_FIELD_NUMBER: _ClassVar[int]
    http_status: int
    body: bytes
    headers: _containers.ScalarMap[str, str]
    remote: DirectoryEntry
    attempts: int
    conformance_deviations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, http_status: _Optional[int] = ..., body: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ..., remote: _Optional[_Union[DirectoryEntry, _Mapping]] = ..., attempts: _Optional[int] = ..., conformance_deviations: _Optional[_Iterable[str]] = ...) -> None: ...

class ForwardConnectivityCheckRequest(_message.Message):
    __slots__ = ("gtin", "query")
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    GTIN_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    query: _containers.ScalarMap[str, str]
    def __init__(self, gtin: _Optional[str] = ..., query: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ForwardConnectivityCheckResponse(_message.Message):
    __slots__ = ("http_status", "body", "headers", "remote", "attempts")
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
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    http_status: int
    body: bytes
    headers: _containers.ScalarMap[str, str]
    remote: DirectoryEntry
    attempts: int
    def __init__(self, http_status: _Optional[int] = ..., body: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ..., remote: _Optional[_Union[DirectoryEntry, _Mapping]] = ..., attempts: _Optional[int] = ...) -> None: ...

class ProbeRemoteEndpointsRequest(_message.Message):
    __slots__ = ("req_gln",)
    REQ_GLN_FIELD_NUMBER: _ClassVar[int]
    req_gln: str
    def __init__(self, req_gln: _Optional[str] = ...) -> None: ...

class RemoteEndpointProbe(_message.Message):
    __slots__ = ("base_url", "entries", "gtin", "reachable", "http_status", "latency_seconds", "outcome", "detail", "breaker_state", "network", "auth_accepted", "lms_conformant", "conformance_deviations")
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    GTIN_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    AUTH_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    LMS_CONFORMANT_FIELD_NUMBER: _ClassVar[int]
    CONFORMANCE_DEVIATIONS_FIELD_NUMBER: _ClassVar[int]
    base_url: str
    entries: _containers.RepeatedScalarFieldContainer[str]
    gtin: str
    reachable: bool
    http_status: int
    latency_seconds: float
    outcome: str
    detail: str
    breaker_state: str
    network: str
    auth_accepted: bool
    lms_conformant: bool
    conformance_deviations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, base_url: _Optional[str] = ..., entries: _Optional[_Iterable[str]] = ..., gtin: _Optional[str] = ..., reachable: _Optional[bool] = ..., http_status: _Optional[int] = ..., latency_seconds: _Optional[float] = ..., outcome: _Optional[str] = ..., detail: _Optional[str] = ..., breaker_state: _Optional[str] = ..., network: _Optional[str] = ..., auth_accepted: _Optional[bool] = ..., lms_conformant: _Optional[bool] = ..., conformance_deviations: _Optional[_Iterable[str]] = ...) -> None: ...

class ProbeRemoteEndpointsResponse(_message.Message):
    __slots__ = ("endpoints",)
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    endpoints: _containers.RepeatedCompositeFieldContainer[RemoteEndpointProbe]
    def __init__(self, endpoints: _Optional[_Iterable[_Union[RemoteEndpointProbe, _Mapping]]] = ...) -> None: ...

class WatchDirectoryRequest(_message.Message):
    __slots__ = ("applied_sequence",)
    APPLIED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    applied_sequence: int
    def __init__(self, applied_sequence: _Optional[int] = ...) -> None: ...

class WatchDirectoryResponse(_message.Message):
    __slots__ = ("version", "sequence")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    version: int
    sequence: int
    def __init__(self, version: _Optional[int] = ..., sequence: _Optional[int] = ...) -> None: ...

class RemoteNetwork(_message.Message):
    __slots__ = ("name", "base_url", "auth_scheme", "token", "username", "password", "oauth_token_url", "oauth_client_id", "oauth_client_secret", "oauth_scope", "client_cert_pem", "client_key_pem", "ca_pem", "timeout_seconds", "attempts", "headers", "lms_version", "lenient", "atp_carriage", "atp_name", "secrets_set", "updated_at")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    AUTH_SCHEME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    OAUTH_TOKEN_URL_FIELD_NUMBER: _ClassVar[int]
    OAUTH_CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OAUTH_CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    OAUTH_SCOPE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERT_PEM_FIELD_NUMBER: _ClassVar[int]
    CLIENT_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    CA_PEM_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    LMS_VERSION_FIELD_NUMBER: _ClassVar[int]
    LENIENT_FIELD_NUMBER: _ClassVar[int]
    ATP_CARRIAGE_FIELD_NUMBER: _ClassVar[int]
    ATP_NAME_FIELD_NUMBER: _ClassVar[int]
    SECRETS_SET_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    base_url: str
    auth_scheme: str
    token: str
    username: str
    password: str
    oauth_token_url: str
    oauth_client_id: str
    oauth_client_secret: str
    oauth_scope: str
    client_cert_pem: str
    client_key_pem: str
    ca_pem: str
    timeout_seconds: float
    attempts: int
    headers: _containers.ScalarMap[str, str]
    lms_version: str
    lenient: bool
    atp_carriage: str
    atp_name: str
    secrets_set: _containers.RepeatedScalarFieldContainer[str]
    updated_at: str
    def __init__(self, name: _Optional[str] = ..., base_url: _Optional[str] = ..., auth_scheme: _Optional[str] = ..., token: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., oauth_token_url: _Optional[str] = ..., oauth_client_id: _Optional[str] = ..., oauth_client_secret: _Optional[str] = ..., oauth_scope: _Optional[str] = ..., client_cert_pem: _Optional[str] = ..., client_key_pem: _Optional[str] = ..., ca_pem: _Optional[str] = ..., timeout_seconds: _Optional[float] = ..., attempts: _Optional[int] = ..., headers: _Optional[_Mapping[str, str]] = ..., lms_version: _Optional[str] = ..., lenient: _Optional[bool] = ..., atp_carriage: _Optional[str] = ..., atp_name: _Optional[str] = ..., secrets_set: _Optional[_Iterable[str]] = ..., updated_at: _Optional[str] = ...) -> None: ...

class PutRemoteNetworkRequest(_message.Message):
    __slots__ = ("caller", "network")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    network: RemoteNetwork
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., network: _Optional[_Union[RemoteNetwork, _Mapping]] = ...) -> None: ...

class PutRemoteNetworkResponse(_message.Message):
    __slots__ = ("network", "created", "directory_version")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_VERSION_FIELD_NUMBER: _ClassVar[int]
    network: RemoteNetwork
    created: bool
    directory_version: int
    def __init__(self, network: _Optional[_Union[RemoteNetwork, _Mapping]] = ..., created: _Optional[bool] = ..., directory_version: _Optional[int] = ...) -> None: ...

class GetRemoteNetworkRequest(_message.Message):
    __slots__ = ("caller", "name")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    name: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class GetRemoteNetworkResponse(_message.Message):
    __slots__ = ("network",)
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    network: RemoteNetwork
    def __init__(self, network: _Optional[_Union[RemoteNetwork, _Mapping]] = ...) -> None: ...

class ListRemoteNetworksRequest(_message.Message):
    __slots__ = ("caller",)
    CALLER_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ...) -> None: ...

class ListRemoteNetworksResponse(_message.Message):
    __slots__ = ("networks",)
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    networks: _containers.RepeatedCompositeFieldContainer[RemoteNetwork]
    def __init__(self, networks: _Optional[_Iterable[_Union[RemoteNetwork, _Mapping]]] = ...) -> None: ...

class ImportRemoteNetworksRequest(_message.Message):
    __slots__ = ("caller", "networks")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    networks: _containers.RepeatedCompositeFieldContainer[RemoteNetwork]
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., networks: _Optional[_Iterable[_Union[RemoteNetwork, _Mapping]]] = ...) -> None: ...

class ImportRemoteNetworksResponse(_message.Message):
    __slots__ = ("results", "stored", "directory_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[DirectoryImportResult]
    stored: bool
    directory_version: int
    def __init__(self, results: _Optional[_Iterable[_Union[DirectoryImportResult, _Mapping]]] = ..., stored: _Optional[bool] = ..., directory_version: _Optional[int] = ...) -> None: ...

class DeleteRemoteNetworkRequest(_message.Message):
    __slots__ = ("caller", "name")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    name: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteRemoteNetworkResponse(_message.Message):
    __slots__ = ("directory_version",)
    DIRECTORY_VERSION_FIELD_NUMBER: _ClassVar[int]
    directory_version: int
    def __init__(self, directory_version: _Optional[int] = ...) -> None: ...

class PartnerWallet(_message.Message):
    __slots__ = ("partner_id", "did", "url", "client_id", "client_secret", "token_url", "inbound_policy", "secret_set", "inbound_carriage")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    DID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_URL_FIELD_NUMBER: _ClassVar[int]
    INBOUND_POLICY_FIELD_NUMBER: _ClassVar[int]
    SECRET_SET_FIELD_NUMBER: _ClassVar[int]
    INBOUND_CARRIAGE_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    did: str
    url: str
    client_id: str
    client_secret: str
    token_url: str
    inbound_policy: str
    secret_set: bool
    inbound_carriage: str
    def __init__(self, partner_id: _Optional[str] = ..., did: _Optional[str] = ..., url: _Optional[str] = ..., client_id: _Optional[str] = ..., client_secret: _Optional[str] = ..., token_url: _Optional[str] = ..., inbound_policy: _Optional[str] = ..., secret_set: _Optional[bool] = ..., inbound_carriage: _Optional[str] = ...) -> None: ...

class PutPartnerWalletRequest(_message.Message):
    __slots__ = ("caller", "wallet")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    wallet: PartnerWallet
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., wallet: _Optional[_Union[PartnerWallet, _Mapping]] = ...) -> None: ...

class PutPartnerWalletResponse(_message.Message):
    __slots__ = ("wallet",)
    WALLET_FIELD_NUMBER: _ClassVar[int]
    wallet: PartnerWallet
    def __init__(self, wallet: _Optional[_Union[PartnerWallet, _Mapping]] = ...) -> None: ...

class GetPartnerWalletRequest(_message.Message):
    __slots__ = ("caller", "partner_id")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    partner_id: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., partner_id: _Optional[str] = ...) -> None: ...

class GetPartnerWalletResponse(_message.Message):
    __slots__ = ("wallet",)
    WALLET_FIELD_NUMBER: _ClassVar[int]
    wallet: PartnerWallet
    def __init__(self, wallet: _Optional[_Union[PartnerWallet, _Mapping]] = ...) -> None: ...

class DeletePartnerWalletRequest(_message.Message):
    __slots__ = ("caller", "partner_id")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    partner_id: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., partner_id: _Optional[str] = ...) -> None: ...

class DeletePartnerWalletResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CredentialAuditEntry(_message.Message):
    __slots__ = ("at", "partner_id", "action", "outcome", "code", "corr_uuid", "counterparty")
    AT_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CORR_UUID_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    at: float
    partner_id: str
    action: str
    outcome: str
    code: str
    corr_uuid: str
    counterparty: str
    def __init__(self, at: _Optional[float] = ..., partner_id: _Optional[str] = ..., action: _Optional[str] = ..., outcome: _Optional[str] = ..., code: _Optional[str] = ..., corr_uuid: _Optional[str] = ..., counterparty: _Optional[str] = ...) -> None: ...

class ListCredentialAuditRequest(_message.Message):
    __slots__ = ("caller", "corr_uuid")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    CORR_UUID_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    corr_uuid: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., corr_uuid: _Optional[str] = ...) -> None: ...

class ListCredentialAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[CredentialAuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[CredentialAuditEntry, _Mapping]]] = ...) -> None: ...

class ExchangeInboundPresentationRequest(_message.Message):
    __slots__ = ("caller", "corr_uuid", "presentation", "body_presentation")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    CORR_UUID_FIELD_NUMBER: _ClassVar[int]
    PRESENTATION_FIELD_NUMBER: _ClassVar[int]
    BODY_PRESENTATION_FIELD_NUMBER: _ClassVar[int]
    caller: _common_pb2.Caller
    corr_uuid: str
    presentation: str
    body_presentation: str
    def __init__(self, caller: _Optional[_Union[_common_pb2.Caller, _Mapping]] = ..., corr_uuid: _Optional[str] = ..., presentation: _Optional[str] = ..., body_presentation: _Optional[str] = ...) -> None: ...

class ExchangeInboundPresentationResponse(_message.Message):
    __slots__ = ("presentation", "carriage")
    PRESENTATION_FIELD_NUMBER: _ClassVar[int]
    CARRIAGE_FIELD_NUMBER: _ClassVar[int]
    presentation: str
    carriage: str
    def __init__(self, presentation: _Optional[str] = ..., carriage: _Optional[str] = ...) -> None: ...
