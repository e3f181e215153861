"""Recall answers as their typed messages: a recall with its scope and effectiveness, its
preview, a holder's task and letter, and a report's rows. The gateway alone turns these into
REST bodies (``verinet.gateway.recalls``); ``tests/gateway/test_recall_shapes.py`` proves the
round trip reads exactly as recall-status made each answer, member order included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from verinet.recall_status.v1 import recall_status_pb2 as rs_pb

#: A report row's members (``RecallReports._report_row``) and the ``ReportRows`` column of each.
REPORT_COLUMNS = (
    ("gtin", "gtins"), ("serial", "serials"), ("lot", "lots"), ("state", "states"),
    ("last_location", "last_locations"), ("last_partner", "last_partners"), ("last_seen", "last_seen"),
    ("notified_at", "notified_at"), ("acknowledged_at", "acknowledged_at"), ("action", "actions"),
)  # fmt: skip


def recall_message(recall: Mapping[str, Any]) -> rs_pb.Recall:
    """A recall as ``Effectiveness.get`` made it (a holder's view has no owner and no strategy
    external reference) as its message."""
    strategy = recall["strategy"]
    drill = recall.get("drill")
    return rs_pb.Recall(
        id=recall["id"],
        owner=recall.get("owner"),
        recall_class=recall["class"],
        reason=recall["reason"],
        depth=recall["depth"],
        mock=recall["mock"],
        status=recall["status"],
        published_at=recall["published_at"],
        scopes=[rs_pb.RecallScopeEntry(**scope) for scope in recall["scopes"]],
        strategy=rs_pb.RecallStrategy(**strategy),
        units=recall["units"],
        units_by_location=units_by_location(recall["units_by_location"]),
        units_not_yet_shipped=recall["units_not_yet_shipped"],
        located=recall["located"],
        notified=recall["notified"],
        acknowledged=recall["acknowledged"],
        effectiveness=[rs_pb.EffectivenessPoint(**point) for point in recall["effectiveness"]],
        holders=[rs_pb.HolderEffectiveness(**holder) for holder in recall["holders"]],
        closed_at=recall.get("closed_at"),
        close_reason=recall.get("close_reason", ""),
        drill=None if drill is None else rs_pb.DrillTimings(**drill),
    )


def extended_recall(recall: Mapping[str, Any]) -> rs_pb.ExtendRecallResponse:
    """A recall after ``RecallService.extend`` (the recall, then what the extension added)."""
    return rs_pb.ExtendRecallResponse(recall=recall_message(recall), added_units=recall["added_units"], unknown_units=recall["unknown_units"])


def status_report_message(report: Mapping[str, Any]) -> rs_pb.GetRecallStatusReportResponse:
    """A status report (``status_report.build``) as its message; its lists of consignees
    notified, responding and not responding are views of ``consignee_rows`` the gateway draws."""
    recall = report["recall"]
    checks = report["effectiveness_checks"]
    estimate = report["estimated_completion"]
    period = report.get("period")
    return rs_pb.GetRecallStatusReportResponse(
        recall=rs_pb.RecallHeader(
            id=recall["id"], recall_class=recall["class"], reason=recall["reason"], depth=recall["depth"], mock=recall["mock"],
            status=recall["status"], published_at=recall["published_at"], closed_at=recall.get("closed_at"), close_reason=recall.get("close_reason", ""),
        ),
        as_of=report["as_of"],
        strategy=rs_pb.RecallStrategy(**report["strategy"]),
        consignees=report["consignees"], consignees_notified=report["consignees_notified"],
        consignees_responding=report["consignees_responding"], consignees_not_responding=report["consignees_not_responding"],
        consignees_overdue=report["consignees_overdue"],
        units=report["units"], units_acknowledged=report["units_acknowledged"], quantity_on_hand=report["quantity_on_hand"],
        effectiveness_checks=rs_pb.ReportedChecks(
            level=checks["level"], share=checks["share"], due=checks["due"], done=checks["done"], results=checks["results"],
            checks=[rs_pb.ReportedCheck(**check) for check in checks["checks"]],
        ),
        estimated_completion=rs_pb.EstimatedCompletion(complete=estimate["complete"], at=estimate["at"], basis=estimate["basis"]),
        consignee_rows=[
            rs_pb.ReportedConsignee(**{**row, "locations": [rs_pb.HolderLocation(**at) for at in row["locations"]]})
            for row in report["consignee_rows"]
        ],
        period=None if period is None else rs_pb.ReportPeriod(**period),
    )  # fmt: skip


def report_rows(rows: Sequence[Mapping[str, Any]]) -> rs_pb.StreamRecallReportResponse:
    """A chunk of report rows (``RecallReports._report_row``) as a report message, column by
    column (filled in place: a chunk of thousands of rows is never copied)."""
    message = rs_pb.StreamRecallReportResponse()
    chunk = message.rows
    chunk.SetInParent()
    for member, column in REPORT_COLUMNS:
        getattr(chunk, column).extend(list(map(itemgetter(member), rows)))
    return message


def recall_preview(preview: Mapping[str, Any]) -> rs_pb.PreviewRecallResponse:
    """A recall's preview (``RecallService.preview``) as its message."""
    return rs_pb.PreviewRecallResponse(
        units=preview["units"],
        units_by_location=units_by_location(preview["units_by_location"]),
        units_not_yet_shipped=preview["units_not_yet_shipped"],
        unknown_units=preview["unknown_units"],
    )


def units_by_location(located: Sequence[Mapping[str, Any]]) -> list[rs_pb.UnitsAtLocation]:
    """A scope summary's ``units_by_location`` (``RecallRecords.scope_summary``) as messages."""
    return [
        rs_pb.UnitsAtLocation(
            gln=at["gln"], partner=at["partner"], units=at["units"],
            location=rs_pb.LocationDetails(**at["location"]) if "location" in at else None,
        )
        for at in located
    ]  # fmt: skip


def recall_task(task: Mapping[str, Any]) -> rs_pb.RecallTask:
    """A holder's recall task (``Acknowledgements.tasks``) as its message."""
    return rs_pb.RecallTask(
        recall=recall_header(task["recall"]),
        notice=recall_notice_message(task["notice"]),
        units_open=[rs_pb.OpenUnit(**unit) for unit in task["units_open"]],
        units_acknowledged=task["units_acknowledged"],
        locations=[rs_pb.HolderLocation(gln=gln, **place) for gln, place in task["locations"].items()],
    )


def recall_letter(letter: Mapping[str, Any]) -> rs_pb.GetRecallNoticeResponse:
    """A holder's recall notice as a letter (``Acknowledgements.notice_letter``) as its message."""
    holder = letter["holder"]
    return rs_pb.GetRecallNoticeResponse(
        recall=recall_header(letter["recall"]),
        holder=rs_pb.NoticeHolder(
            partner=holder["partner"], name=holder["name"], locations=[rs_pb.HolderLocation(**at) for at in holder["locations"]]
        ),
        notified_at=letter["notified_at"],
        notified_by=letter["notified_by"],
        notice=recall_notice_message(letter["notice"]),
    )


def recall_header(recall: Mapping[str, Any]) -> rs_pb.RecallHeader:
    """A recall as a holder's task or letter names it."""
    return rs_pb.RecallHeader(
        id=recall["id"], recall_class=recall["class"], reason=recall["reason"], depth=recall["depth"],
        mock=recall["mock"], published_at=recall["published_at"], status=recall.get("status", ""),
    )  # fmt: skip


def recall_notice_message(notice: Mapping[str, Any]) -> rs_pb.RecallNotice:
    """A holder's recall notice (``recall_acknowledgements.recall_notice``) as its message."""
    return rs_pb.RecallNotice(
        heading=notice["heading"],
        products=[rs_pb.NoticeProduct(**product) for product in notice["products"]],
        reason=notice["reason"], what_to_do=notice["what_to_do"], respond=notice["respond"],
        contact=notice["contact"], public_warning=notice["public_warning"],
    )  # fmt: skip
