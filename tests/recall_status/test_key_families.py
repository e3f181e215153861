"""Each key family spells its keys as the key layouts of ``pack_keys``, ``custody_store`` and
``recall_model`` document them (stored data depends on these names), and a Lua script set
reads one script for each attribute it names."""

from __future__ import annotations

import doctest
import zlib

from verinet.recall_status import (
    custody_store,
    event_store,
    key_families,
    locations,
    notifications,
    pack_keys,
    recall_model,
)
from verinet.recall_status.pack_scripts import PackScripts, script_source

GTIN = "09506000134352"
SERIAL = "S-17"
RECALL = "R-2026-1"
UNIT = f"{GTIN}|{SERIAL}"
PACK_BUCKET = f"{zlib.crc32(SERIAL.encode()) % 16384:04x}"
UNIT_BUCKET = f"{zlib.crc32(UNIT.encode()) % 256:02x}"


def test_the_builders_work_as_their_module_documents_them() -> None:
    result = doctest.testmod(key_families)
    assert result.attempted and not result.failed


def test_pack_keys_keep_their_documented_names() -> None:
    assert pack_keys.product_key(GTIN) == f"prod:{{{GTIN}}}"
    assert pack_keys.lot_state_key(GTIN) == f"lotstate:{{{GTIN}}}"
    assert pack_keys.recall_rules_key(GTIN) == f"rcrule:{{{GTIN}}}"
    assert pack_keys.audit_key(GTIN) == f"audit:{{{GTIN}}}"
    assert pack_keys.audit_head_key(GTIN) == f"audithead:{{{GTIN}}}"
    assert pack_keys.bucket_key(GTIN, SERIAL) == f"pk:{{{GTIN}}}:{PACK_BUCKET}"
    assert pack_keys.bucket_key(GTIN, SERIAL) == pack_keys.bucket_key_at(GTIN, pack_keys.bucket_of(SERIAL))
    assert pack_keys.decommission_key(GTIN, SERIAL) == f"pd:{{{GTIN}}}:{PACK_BUCKET}"
    assert pack_keys.pack_recall_key(GTIN, SERIAL) == f"pr:{{{GTIN}}}:{PACK_BUCKET}"
    assert pack_keys.location_key(GTIN, SERIAL) == f"loc:{{{GTIN}}}:{PACK_BUCKET}"
    assert pack_keys.sightings_key(GTIN, SERIAL) == f"sgt:{{{GTIN}}}:{PACK_BUCKET}"


def test_custody_and_event_keys_keep_their_documented_names() -> None:
    sscc = "106141411234567897"
    assert custody_store.aggregation_key(sscc) == f"agg:{{{sscc}}}"
    assert custody_store.container_parent_key(sscc) == f"ctr:{{{sscc}}}"
    assert custody_store.lock_key("P1") == "epcislock:{P1}"
    assert custody_store.unit_parent_key(GTIN, SERIAL) == f"aggp:{{{GTIN}}}:{PACK_BUCKET}"
    assert custody_store.custody_key(GTIN, SERIAL) == f"cus:{{{GTIN}}}:{PACK_BUCKET}"
    assert event_store.visible_key("P1") == "epcq:vis:{P1}"
    assert locations.location_key("4000001000005") == "locmd:{4000001000005}"


def test_recall_keys_keep_their_documented_names() -> None:
    tag = f"{{rc:{RECALL}}}"
    by_id = {
        recall_model.recall_key: "recall",
        recall_model.members_key: "rcm",
        recall_model.partners_key: "rcpartners",
        recall_model.task_since_key: "rcpsince",
        recall_model.responses_key: "rcresp",
        recall_model.responded_key: "rcresponded",
        recall_model.checks_key: "rcchecks",
        recall_model.reminders_key: "rcrem",
    }
    for key, prefix in by_id.items():
        assert key(RECALL) == f"{prefix}:{tag}"
    assert recall_model.unit_bucket_key(RECALL, UNIT) == f"rcu:{tag}:{UNIT_BUCKET}"
    assert recall_model.ack_bucket_key(RECALL, UNIT) == f"rca:{tag}:{UNIT_BUCKET}"
    assert recall_model.partner_units_key(RECALL, "P1") == f"rcpu:{tag}:P1"
    assert notifications.deliveries_key(RECALL) == f"deliveries:{tag}"


def test_a_script_set_reads_the_lua_file_of_each_attribute_it_names() -> None:
    assert sorted(PackScripts._sources) == [
        "apply_changes", "commission", "record_event_batch", "record_events", "scope", "set_level_state", "status",
    ]  # fmt: skip
    assert sorted(custody_store.CustodyScripts._sources) == ["read_fields", "read_units", "record", "release_lock", "set_fields"]
    assert custody_store.CustodyScripts._sources["record"] == script_source("custody_record")
    assert PackScripts._sources["status"] == script_source("pack_status")
