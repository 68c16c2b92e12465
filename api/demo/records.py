"""The demo county's records, read from the JSON files in ``data/`` (names, tickets, activities
as a county would enter them, in Chinese). This module only gives them types; what is done with
them is in the builder."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from api.stations.models import ActivityKind, CoachingStatus, RoomKind
from api.tickets.models import Severity, TicketSource, TicketStatus, Tier


def _read(name: str) -> Any:
    return json.loads(resources.files("api.demo").joinpath("data", name).read_text("utf-8"))


class Town(NamedTuple):
    code: str
    name: str
    short: str  # the name an enterprise of the town may start with (合德, 黄沙港)


class Park(NamedTuple):
    code: str
    town: str
    name: str


class BigEnterprise(NamedTuple):
    """200 staff or more: an independent grid of its own."""

    name: str
    industry: str
    area: str  # a town or park code
    headcount: int


class NanheEnterprise(NamedTuple):
    name: str
    industry: str
    headcount: int
    union_members: int


class County(NamedTuple):
    code: str
    name: str
    region: str  # the county's administrative region code, in credit codes
    towns: tuple[Town, ...]
    parks: tuple[Park, ...]
    joint_grids: tuple[tuple[str, str], ...]  # (area code, industry)
    joint_enterprises: int
    direct_report_points: int
    independent: tuple[BigEnterprise, ...]
    industry_words: dict[str, tuple[str, ...]]
    brands: tuple[str, ...]
    roads: tuple[str, ...]
    sheyang_address: str
    nanhe_address: str
    xiangshui_code: str
    xiangshui_name: str
    xiangshui_region: str
    nanhe_code: str
    nanhe_name: str
    nanhe: tuple[NanheEnterprise, ...]
    nanhe_members: int


@cache
def county() -> County:
    raw = _read("county.json")
    return County(
        code=raw["county"]["code"],
        name=raw["county"]["name"],
        region=raw["county"]["region"],
        towns=tuple(Town(**t) for t in raw["towns"]),
        parks=tuple(Park(**p) for p in raw["parks"]),
        joint_grids=tuple((area, industry) for area, industry in raw["joint_grids"]),
        joint_enterprises=raw["joint_enterprises"],
        direct_report_points=raw["direct_report_points"],
        independent=tuple(BigEnterprise(*row) for row in raw["independent_enterprises"]),
        industry_words={k: tuple(v) for k, v in raw["industry_words"].items()},
        brands=tuple(raw["brands"]),
        roads=tuple(raw["roads"]),
        sheyang_address=raw["address"]["sheyang"],
        nanhe_address=raw["address"]["nanhe"],
        xiangshui_code=raw["xiangshui"]["code"],
        xiangshui_name=raw["xiangshui"]["name"],
        xiangshui_region=raw["xiangshui"]["region"],
        nanhe_code=raw["nanhe"]["code"],
        nanhe_name=raw["nanhe"]["name"],
        nanhe=tuple(NanheEnterprise(*row) for row in raw["nanhe_enterprises"]),
        nanhe_members=raw["nanhe_members"],
    )


class AccountRecord(NamedTuple):
    role: str
    name: str
    phone: str


class People(NamedTuple):
    surnames: tuple[str, ...]
    given: tuple[str, ...]
    phone_prefixes: tuple[str, ...]
    accounts: tuple[AccountRecord, ...]
    station_heads: tuple[str, ...]
    model_worker: str


@cache
def people() -> People:
    raw = _read("people.json")
    return People(
        surnames=tuple(raw["surnames"]),
        given=tuple(raw["given"]),
        phone_prefixes=tuple(raw["phone_prefixes"]),
        accounts=tuple(AccountRecord(**a) for a in raw["accounts"]),
        station_heads=tuple(raw["station_heads"]),
        model_worker=raw["model_worker"],
    )


class WorkerRequest(NamedTuple):
    category: str
    title: str
    description: str
    resolution: str


class OpenTicket(NamedTuple):
    source: TicketSource
    status: TicketStatus
    tier: Tier
    severity: Severity
    category: str
    title: str
    description: str
    # ("joint", area code, industry), ("big", enterprise name) or ("town", town code).
    target: tuple[str, ...]
    age_hours: float
    comment: str | None


class Tickets(NamedTuple):
    demo_liaison_grid: tuple[str, str]  # (area code, industry) of the demo liaison's grid
    escalation_notes: dict[Tier, str]
    mediation_note: str
    port_service_centre: str
    settled_at: str  # "{centre}"
    closed_requests: int
    worker_requests: tuple[WorkerRequest, ...]
    rating_comments: tuple[str | None, ...]
    open_tickets: tuple[OpenTicket, ...]


def _open_ticket(row: list[Any], centre: str) -> OpenTicket:
    source, status, tier, severity, category, title, description, target, age, comment = row
    return OpenTicket(
        TicketSource[source],
        TicketStatus[status],
        Tier[tier],
        Severity[severity],
        category,
        title,
        description.format(centre=centre),
        tuple(target),
        age,
        comment,
    )


@cache
def tickets() -> Tickets:
    raw = _read("tickets.json")
    centre = raw["port_service_centre"]
    return Tickets(
        demo_liaison_grid=tuple(raw["demo_liaison_grid"]),  # type: ignore[arg-type]
        escalation_notes={Tier[k]: v for k, v in raw["escalation_notes"].items()},
        mediation_note=raw["mediation_note"],
        port_service_centre=centre,
        settled_at=raw["settled_at"],
        closed_requests=raw["closed_requests"],
        worker_requests=tuple(WorkerRequest(*row) for row in raw["worker_requests"]),
        rating_comments=tuple(raw["rating_comments"]),
        open_tickets=tuple(_open_ticket(row, centre) for row in raw["open_tickets"]),
    )


class ActivitySpec(NamedTuple):
    days_ago: int  # negative: planned
    kind: ActivityKind
    room: RoomKind
    title: str
    capacity: int
    outcome: str | None = None
    loans_yuan: int | None = None
    cancelled: bool = False


class CoachingSpec(NamedTuple):
    enterprise: int  # index into the Nanhe enterprises
    topic: str
    description: str
    requested_days_ago: int
    status: CoachingStatus
    visit_days_ago: int | None = None  # negative: the visit is planned
    visit_note: str | None = None


class StationRecord(NamedTuple):
    name: str
    town_name: str
    address: str
    area_m2: int
    founded_on: str
    rooms: tuple[tuple[RoomKind, str], ...]
    big_pot_title: str  # "{topic}"
    small_stove_title: str  # "{topic}"
    cancelled_note: str
    big_pot_first_days_ago: int
    quarter_days: int
    # "Big pot" (大锅) lessons, one a quarter: room, topic, outcome ("" for the planned one).
    big_pot_topics: tuple[tuple[RoomKind, str, str], ...]
    activities: tuple[ActivitySpec, ...]
    coaching_requests: tuple[CoachingSpec, ...]
    member_evaluations_per_chair: int
    evaluation_comments: tuple[str | None, ...]


@cache
def station() -> StationRecord:
    raw = _read("station.json")
    return StationRecord(
        **raw["station"],
        rooms=tuple((RoomKind[kind], name) for kind, name in raw["rooms"]),
        big_pot_title=raw["big_pot_title"],
        small_stove_title=raw["small_stove_title"],
        cancelled_note=raw["cancelled_note"],
        big_pot_first_days_ago=raw["big_pot_first_days_ago"],
        quarter_days=raw["quarter_days"],
        big_pot_topics=tuple(
            (RoomKind[room], topic, outcome) for room, topic, outcome in raw["big_pot_topics"]
        ),
        activities=tuple(
            ActivitySpec(days, ActivityKind[kind], RoomKind[room], *rest)
            for days, kind, room, *rest in raw["activities"]
        ),
        coaching_requests=tuple(
            CoachingSpec(index, topic, description, requested, CoachingStatus[status], *rest)
            for index, topic, description, requested, status, *rest in raw["coaching_requests"]
        ),
        member_evaluations_per_chair=raw["member_evaluations_per_chair"],
        evaluation_comments=tuple(raw["evaluation_comments"]),
    )
