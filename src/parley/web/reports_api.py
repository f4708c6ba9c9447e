"""REST routes for reports (``docs/protocol.md``, "Reports"; the numbers: ``docs/metrics.md``,
"Reports"): a workgroup's numbers over a range of local days, per hour, day or week, as JSON
or CSV (``?format=csv``, or the path with ``.csv``). For its supervisors and admins; an agent
gets 403, a workgroup one does not supervise reads as one that does not exist (404). The
checks are in the service, through ``parley.domain.access``.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency aliases built below.

import csv
import io
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from parley.domain import reports
from parley.domain.presence import Presence
from parley.services.reports import Report
from parley.web.api import ERRORS, RATE_LIMITED
from parley.web.node import Node
from parley.web.security import AnyStaff

Table = Literal["periods", "agents", "presence"]
#: A cell starting with one of these is read as a formula by spreadsheets: it gets a leading
#: apostrophe (OWASP, "CSV injection").
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _numbers(n: reports.Numbers) -> dict[str, Any]:
    return asdict(n)


def report_json(report: Report) -> dict[str, Any]:
    w = report.window
    return {
        "workgroup": {"slug": report.slug, "name": report.name},
        "timezone": report.zone or "UTC",
        "timezone_source": "business_hours" if report.zone else "utc",
        "from": w.first.isoformat(),
        "to": w.last.isoformat(),
        "granularity": w.granularity.value,
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "at": report.at.isoformat(),
        "queue": report.scope.queue_id,
        "agent": report.scope.agent_id,
        "settings": {
            "sl_target_secs": report.settings.target_secs,
            "fcr_window_hours": report.settings.fcr_window_hours,
        },
        "columns": list(reports.COLUMNS),
        "rows": [
            {"period": reports.label(w, start), "start": start.isoformat(), **_numbers(n)}
            for start, n in report.rows
        ],
        "total": _numbers(report.total),
        "agents": [
            {"user_id": a.user_id, "name": a.name, **_numbers(a.numbers)} for a in report.agents
        ],
        "presence": [
            {
                "user_id": p.user_id,
                "name": p.name,
                **{f"{state.value}_secs": round(p.secs[state], 3) for state in Presence},
            }
            for p in report.presence
        ],
        "queues": [{"id": i, "name": n} for i, n in report.queues],
        "members": [{"user_id": i, "name": n} for i, n in report.members],
    }


def cell(value: object) -> str:
    """One CSV cell: empty for no value, numbers as they are (floats to 3 places), text with a
    leading apostrophe if a spreadsheet would read it as a formula. Quoting is ``csv``'s."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value == value else ""
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def report_csv(report: Report, table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    body = report_json(report)
    if table == "periods":
        header = ["period", "start", *reports.COLUMNS]
        lines = body["rows"]
    elif table == "agents":
        header = ["user_id", "name", *reports.COLUMNS]
        lines = body["agents"]
    else:
        header = ["user_id", "name", *(f"{s.value}_secs" for s in Presence)]
        lines = body["presence"]
    writer.writerow(header)
    for line in lines:
        writer.writerow([cell(line[h]) for h in header])
    return out.getvalue()


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["reports"])

    async def _report(
        parley: Node,
        staff: AnyStaff,
        slug: str,
        first: date,
        last: date,
        granularity: reports.Granularity,
        queue: int | None,
        agent: int | None,
    ) -> Report:
        return await parley.reports.report(
            staff, slug, first, last, granularity, queue_id=queue, agent_id=agent
        )

    def _csv(report: Report, table: Table) -> Response:
        name = f"report-{report.slug}-{report.window.first}-{report.window.last}-{table}.csv"
        return Response(
            report_csv(report, table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    From = Annotated[date, Query(alias="from", description="The first local day (included).")]
    To = Annotated[date, Query(description="The last local day (included).")]
    Gran = Annotated[reports.Granularity, Query()]
    QueueQ = Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Only this queue (its id).")
    ]
    AgentQ = Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Only this agent (their user id).")
    ]
    TableQ = Annotated[Table, Query(description="Which table a CSV holds.")]
    Slug = Annotated[str, Path(max_length=64)]

    @api.get(
        "/reports/workgroups/{slug}.csv",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}}, **RATE_LIMITED},
    )
    async def report_as_csv(
        parley: Node,
        staff: AnyStaff,
        slug: Slug,
        first: From,
        to: To,
        granularity: Gran = reports.Granularity.DAY,
        queue: QueueQ = None,
        agent: AgentQ = None,
        table: TableQ = "periods",
    ) -> Response:
        """One table of the report as CSV."""
        found = await _report(parley, staff, slug, first, to, granularity, queue, agent)
        return _csv(found, table)

    @api.get(
        "/reports/workgroups/{slug}",
        response_class=JSONResponse,
        responses={200: {"content": {"text/csv": {}}}, **RATE_LIMITED},
    )
    async def report(
        parley: Node,
        staff: AnyStaff,
        slug: Slug,
        first: From,
        to: To,
        granularity: Gran = reports.Granularity.DAY,
        queue: QueueQ = None,
        agent: AgentQ = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
        table: TableQ = "periods",
    ) -> Response:
        """A workgroup's report: one row per period, the range's total, per agent, and each
        agent's time per presence."""
        found = await _report(parley, staff, slug, first, to, granularity, queue, agent)
        if format == "csv":
            return _csv(found, table)
        return JSONResponse(report_json(found))

    return api
