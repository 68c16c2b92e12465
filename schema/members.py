"""GraphQL view of members."""

from __future__ import annotations

import strawberry
from strawberry import relay

from api.members.models import Member as MemberRow


@strawberry.type(name="Member", description="A person: liaison, staff, union chair or member.")
class MemberType(relay.Node):
    id: relay.NodeID[str]
    uuid: strawberry.ID = strawberry.field(description="The record's UUID, as used by sync.")
    name: str
    phone: str
    roles: list[str]
    version: int

    @classmethod
    def from_row(cls, row: MemberRow) -> MemberType:
        return cls(
            id=str(row.id),
            uuid=strawberry.ID(str(row.id)),
            name=row.name,
            phone=row.phone,
            roles=list(row.roles),
            version=row.version,
        )
