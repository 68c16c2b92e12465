"""Every table, imported once so that SQLModel.metadata is complete (alembic, tests)."""

from sqlmodel import SQLModel

from api.accounts.models import AccountEvent, SignInCode
from api.attachments.models import TicketAttachment
from api.auth.models import AuthToken, LoginThrottle
from api.enterprises.models import Enterprise, GridMove
from api.grids.models import Grid
from api.heartbeat import WorkerHeartbeat
from api.members.language import MemberLanguage
from api.members.models import Member, MemberGrid, MemberStation
from api.notifications.models import Notification
from api.persisted.models import PersistedQuery
from api.reports.links import DownloadLink
from api.rules.models import RuleVersion
from api.stations.models import (
    Attendance,
    CoachingRequest,
    Evaluation,
    Room,
    Station,
    StationActivity,
)
from api.tickets.deadline_models import DeadlineAlert, DeadlinePolicy
from api.tickets.models import Counter, Ticket, TicketComment, TicketEvent
from api.warnings.models import RiskLevelRecord

metadata = SQLModel.metadata

__all__ = [
    "TicketAttachment",
    "AccountEvent",
    "SignInCode",
    "WorkerHeartbeat",
    "Attendance",
    "AuthToken",
    "CoachingRequest",
    "Counter",
    "DownloadLink",
    "DeadlineAlert",
    "DeadlinePolicy",
    "Enterprise",
    "Evaluation",
    "Grid",
    "GridMove",
    "LoginThrottle",
    "Member",
    "MemberGrid",
    "MemberLanguage",
    "MemberStation",
    "Notification",
    "PersistedQuery",
    "RiskLevelRecord",
    "RuleVersion",
    "Room",
    "Station",
    "StationActivity",
    "Ticket",
    "TicketComment",
    "TicketEvent",
    "metadata",
]
