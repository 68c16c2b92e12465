"""The domain's enums as GraphQL enums, registered once here (import them from this module)."""

from __future__ import annotations

import strawberry

from api.grids.models import GridKind as _GridKind
from api.members.models import Role as _Role
from api.stations.models import ActivityKind as _ActivityKind
from api.stations.models import ActivityStatus as _ActivityStatus
from api.stations.models import CoachingStatus as _CoachingStatus
from api.stations.models import EvaluatorKind as _EvaluatorKind
from api.stations.models import RoomKind as _RoomKind
from api.tickets.models import Severity as _Severity
from api.tickets.models import TicketSource as _TicketSource
from api.tickets.models import TicketStatus as _TicketStatus
from api.tickets.models import Tier as _Tier

GridKind = strawberry.enum(_GridKind, description="COUNTY, TOWN, PARK, INDEPENDENT or JOINT.")
Role = strawberry.enum(_Role, description="What a member does; it decides what it may see.")
TicketSource = strawberry.enum(_TicketSource, description="How a ticket reached the union.")
Severity = strawberry.enum(_Severity, description="How serious a ticket is.")
TicketStatus = strawberry.enum(_TicketStatus, description="Where a ticket is in its lifecycle.")
Tier = strawberry.enum(_Tier, description="The dispute-resolution tier handling a ticket.")
RoomKind = strawberry.enum(_RoomKind, description="The six rooms of a guidance station.")
ActivityKind = strawberry.enum(_ActivityKind, description="What a station activity is.")
ActivityStatus = strawberry.enum(_ActivityStatus, description="Planned, held or cancelled.")
EvaluatorKind = strawberry.enum(_EvaluatorKind, description="Who rates a chair.")
CoachingStatus = strawberry.enum(_CoachingStatus, description="Where a coaching request is.")
