"""The pipeline board: a manager's one-glance table of orders per state and modality, oldest age in each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.domain.lifecycle import OrderState
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render
from radflow.services.views import BoardCell, PipelineBoard

router = APIRouter(route_class=ScreenRoute)


@dataclass(frozen=True)
class BoardRow:
    """One state of the pipeline across modalities."""

    state: str
    cells: dict[str, BoardCell]
    total: int
    oldest: datetime | None


def board_rows(cells: list[BoardCell]) -> tuple[list[str], list[BoardRow]]:
    """Modalities (columns) and states (rows, in lifecycle order); states with no orders are left out."""
    modalities = sorted({cell.modality for cell in cells})
    rows = []
    for state in OrderState:
        mine = {cell.modality: cell for cell in cells if cell.state == state.value}
        if not mine:
            continue
        rows.append(BoardRow(state=state.value, cells=mine, total=sum(c.count for c in mine.values()),
                             oldest=min(c.oldest_received_at for c in mine.values())))
    return modalities, rows


@router.get("/board")
def pipeline_board(request: Request, radflow: ScreenApp,
                   actor: Annotated[Principal, requires(Action.PIPELINE_BOARD)]) -> Response:
    """Orders per state and modality, with the oldest's waiting time (an htmx refresh gets the table alone)."""
    modalities, rows = board_rows(radflow.bus.handle(PipelineBoard(actor=actor)))
    template = "board/table.html" if request.headers.get("HX-Request") else "board/board.html"
    return render(request, actor, template, modalities=modalities, rows=rows,
                  column_totals={m: sum(r.cells[m].count for r in rows if m in r.cells) for m in modalities},
                  grand_total=sum(r.total for r in rows))
