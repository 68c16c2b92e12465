"""What a person reads for each enum value: never the raw value in a human text.

One declaration per value; ``render(Severity.LOW)`` (and any message argument that is an
enum) reads it here. The context names the enum, so that one English word may be two Chinese
ones (a ticket's "closed" and an activity's "cancelled" stay apart)."""

from __future__ import annotations

from enum import Enum

from api.grids.models import GridKind
from api.i18n import N_, Lazy
from api.members.models import Role
from api.notifications.models import NotificationKind
from api.stations.models import (
    ActivityKind,
    ActivityStatus,
    CoachingStatus,
    EvaluatorKind,
    RoomKind,
)
from api.tickets.deadline_models import AlertStage, DeadlineKind
from api.tickets.models import Severity, TicketSource, TicketStatus, Tier
from api.warnings.models import RiskLevel

LABELS: dict[Enum, Lazy] = {
    Severity.LOW: N_("low", "Severity"),
    Severity.MEDIUM: N_("medium", "Severity"),
    Severity.HIGH: N_("high", "Severity"),
    Severity.CRITICAL: N_("critical", "Severity"),
    TicketSource.WORKER_REQUEST: N_("worker request", "TicketSource"),
    TicketSource.RISK_HAZARD: N_("risk hazard", "TicketSource"),
    TicketSource.HOTLINE_12351: N_("12351 hotline", "TicketSource"),
    TicketSource.DIRECT_REPORT: N_("direct report", "TicketSource"),
    TicketStatus.REPORTED: N_("reported", "TicketStatus"),
    TicketStatus.ASSIGNED: N_("assigned", "TicketStatus"),
    TicketStatus.IN_PROGRESS: N_("in progress", "TicketStatus"),
    TicketStatus.WAITING_ON_WORKER: N_("waiting on the worker", "TicketStatus"),
    TicketStatus.MEDIATING: N_("in mediation", "TicketStatus"),
    TicketStatus.RESOLVED: N_("resolved", "TicketStatus"),
    TicketStatus.CLOSED: N_("closed", "TicketStatus"),
    TicketStatus.REOPENED: N_("reopened", "TicketStatus"),
    TicketStatus.WITHDRAWN: N_("withdrawn", "TicketStatus"),
    Tier.GRID: N_("grid", "Tier"),
    Tier.TOWN: N_("town", "Tier"),
    Tier.COUNTY_STATION: N_("county station", "Tier"),
    Tier.COURT_MEDIATION: N_("court mediation", "Tier"),
    RiskLevel.GREEN: N_("green", "RiskLevel"),
    RiskLevel.YELLOW: N_("yellow", "RiskLevel"),
    RiskLevel.ORANGE: N_("orange", "RiskLevel"),
    RiskLevel.RED: N_("red", "RiskLevel"),
    GridKind.COUNTY: N_("county", "GridKind"),
    GridKind.TOWN: N_("town", "GridKind"),
    GridKind.PARK: N_("park", "GridKind"),
    GridKind.INDEPENDENT: N_("independent", "GridKind"),
    GridKind.JOINT: N_("joint", "GridKind"),
    Role.ADMIN: N_("administrator", "Role"),
    Role.COUNTY_STAFF: N_("county union staff", "Role"),
    Role.TOWN_STAFF: N_("town union staff", "Role"),
    Role.LIAISON: N_("grid liaison", "Role"),
    Role.CHAIR: N_("union chair", "Role"),
    Role.MEMBER: N_("member", "Role"),
    NotificationKind.ASSIGNED: N_("assigned", "NotificationKind"),
    NotificationKind.REASSIGNED: N_("reassigned", "NotificationKind"),
    NotificationKind.UNASSIGNED: N_("unassigned", "NotificationKind"),
    NotificationKind.ESCALATED: N_("escalated", "NotificationKind"),
    NotificationKind.DEADLINE_WARNING: N_("deadline approaching", "NotificationKind"),
    NotificationKind.DEADLINE_BREACH: N_("deadline passed", "NotificationKind"),
    NotificationKind.RISK_RAISED: N_("risk raised", "NotificationKind"),
    DeadlineKind.FIRST_RESPONSE: N_("first response", "DeadlineKind"),
    DeadlineKind.RESOLUTION: N_("resolution", "DeadlineKind"),
    AlertStage.WARNING: N_("warning", "AlertStage"),
    AlertStage.BREACH: N_("breach", "AlertStage"),
    RoomKind.FINANCE_FOR_FARMERS: N_("finance for farmers", "RoomKind"),
    RoomKind.RIGHTS_PROTECTION: N_("rights protection", "RoomKind"),
    RoomKind.GRID_SERVICE: N_("grid service", "RoomKind"),
    RoomKind.WOMEN_WORKERS: N_("women workers", "RoomKind"),
    RoomKind.IDEOLOGICAL_GUIDANCE: N_("ideological guidance", "RoomKind"),
    RoomKind.TECH_TRAINING: N_("technical training", "RoomKind"),
    ActivityKind.BIG_POT_TRAINING: N_("big-pot training", "ActivityKind"),
    ActivityKind.SMALL_STOVE_COACHING: N_("small-stove coaching", "ActivityKind"),
    ActivityKind.LEGAL_AID: N_("legal aid", "ActivityKind"),
    ActivityKind.COUNSELLING: N_("counselling", "ActivityKind"),
    ActivityKind.LOANS: N_("loans", "ActivityKind"),
    ActivityKind.READING: N_("reading", "ActivityKind"),
    ActivityKind.HEALTH_TALK: N_("health talk", "ActivityKind"),
    ActivityKind.MODEL_WORKER_TALK: N_("model worker talk", "ActivityKind"),
    ActivityKind.TECH_GUIDANCE: N_("technical guidance", "ActivityKind"),
    ActivityKind.JOB_FAIR: N_("job fair", "ActivityKind"),
    ActivityKind.PUBLICITY: N_("publicity", "ActivityKind"),
    ActivityStatus.PLANNED: N_("planned", "ActivityStatus"),
    ActivityStatus.HELD: N_("held", "ActivityStatus"),
    ActivityStatus.CANCELLED: N_("cancelled", "ActivityStatus"),
    EvaluatorKind.TOWN_UNION: N_("town union", "EvaluatorKind"),
    EvaluatorKind.MEMBER: N_("member", "EvaluatorKind"),
    CoachingStatus.OPEN: N_("open", "CoachingStatus"),
    CoachingStatus.SCHEDULED: N_("scheduled", "CoachingStatus"),
    CoachingStatus.VISITED: N_("visited", "CoachingStatus"),
    CoachingStatus.CANCELLED: N_("cancelled", "CoachingStatus"),
}


def label_of(value: Enum) -> Lazy | None:
    return LABELS.get(value)
