"""Generated gRPC code is committed and must match the protos."""

from __future__ import annotations

from verinet.protogen import REPO_ROOT, generate


def test_committed_generated_code_matches_the_protos() -> None:
    generated = generate()
    assert generated, "no proto produced any code"
    stale = [str(path) for path, data in generated.items() if (REPO_ROOT / path).read_bytes() != data]
    assert stale == [], f"regenerate with ./run protos: {stale}"


def test_every_generated_module_imports_under_the_verinet_namespace() -> None:
    from verinet.common.v1 import common_pb2
    from verinet.lookup.v1 import lookup_pb2_grpc
    from verinet.recall_status.v1 import recall_status_pb2_grpc
    from verinet.verifier.v1 import verifier_pb2_grpc

    assert common_pb2.PackIdentifier(gtin="1").gtin == "1"
    assert lookup_pb2_grpc.LookupServiceStub
    assert recall_status_pb2_grpc.RecallStatusServiceStub
    assert verifier_pb2_grpc.VerifierServiceStub
