"""The demo accounts `gridlink demo` prints: one per role, all with the demo password."""

from __future__ import annotations

from dataclasses import dataclass

from api.demo.records import people
from api.i18n import N_, Lazy
from api.members.models import Role

DEMO_PASSWORD = "gridlink-demo"

# What each account sees, said to the person trying the demo (a message, in their language).
SEES: dict[Role, Lazy] = {
    Role.ADMIN: N_("everything; manages accounts, the grid tree and enterprises"),
    Role.COUNTY_STAFF: N_(
        "the whole county (Sheyang County Federation of Trade Unions): every grid, enterprise "
        "and ticket; handles tickets escalated to the county station and court mediation"
    ),
    Role.TOWN_STAFF: N_(
        "Hede Town: its park, grids, enterprises and tickets; dispatches them and handles "
        "those escalated to the town union"
    ),
    Role.LIAISON: N_(
        "the Hede Town garments joint grid: its enterprises and their open tickets, several "
        "assigned to this liaison"
    ),
    Role.CHAIR: N_(
        "the Nanhe guidance station as the Dadi Jiufeng union chair: rooms, activities, "
        "coaching requests and the evaluations of this chair"
    ),
    Role.MEMBER: N_(
        "the Nanhe guidance station as a Dadi Jiufeng union member: activities and own "
        "sign-ins; rates the chair"
    ),
}


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    name: str
    phone: str
    password: str
    sees: Lazy


def demo_accounts() -> list[DemoAccount]:
    """The accounts `gridlink demo` prints: one per role, all with DEMO_PASSWORD."""
    return [
        DemoAccount(Role(a.role), a.name, a.phone, DEMO_PASSWORD, SEES[Role(a.role)])
        for a in people().accounts
    ]
