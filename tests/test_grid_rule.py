"""The grid rule at its edges: 199, 200, a park, a move across 200 and back."""

import pytest
from sqlalchemy import select

from api.enterprises.codes import normalize_credit_code, normalize_phone
from api.enterprises.models import GridMove
from api.enterprises.service import register_enterprise, update_enterprise
from api.errors import DomainError
from api.grids.models import Grid, GridKind
from api.tickets.models import TicketSource, TicketStatus
from api.tickets.service import report_ticket
from tests.factories import county_with_town, credit_code, park_in
from tests.helpers import english


async def test_199_staff_join_the_town_industry_joint_grid(session_factory) -> None:
    async with session_factory() as session, session.begin():
        _, town = await county_with_town(session)
        first = await register_enterprise(
            session,
            name="Hede Weaving",
            credit_code=credit_code(),
            headcount=199,
            industry="Textiles",
            town_id=town.id,
        )
        second = await register_enterprise(
            session,
            name="Hede Knitting",
            credit_code=credit_code(),
            headcount=12,
            industry="Textiles",
            town_id=town.id,
        )
        other = await register_enterprise(
            session,
            name="Hede Foods",
            credit_code=credit_code(),
            headcount=40,
            industry="Food processing",
            town_id=town.id,
        )
    grid = first.placement.grid
    assert grid.kind == GridKind.JOINT and grid.parent_id == town.id and grid.town_id == town.id
    assert first.placement.created and not second.placement.created
    assert second.placement.grid.id == grid.id  # same town, same industry: one joint grid
    assert other.placement.grid.id != grid.id  # another industry: another joint grid
    # The reason is a message: its id says which rule placed it, its arguments the facts.
    reason = first.placement.reason
    assert "fewer than" in reason.msgid and reason.args["industry"] == "Textiles"
    assert reason.args["threshold"] == 200


async def test_200_staff_get_an_independent_grid(session_factory) -> None:
    async with session_factory() as session, session.begin():
        _, town = await county_with_town(session)
        result = await register_enterprise(
            session,
            name="Sheyang Port Steel",
            credit_code=credit_code(),
            headcount=200,
            industry="Machinery",
            town_id=town.id,
        )
    grid = result.placement.grid
    assert grid.kind == GridKind.INDEPENDENT and grid.parent_id == town.id
    assert "or more" in result.placement.reason.msgid
    assert result.placement.reason.args["threshold"] == 200
    assert result.enterprise.grid_reason == result.placement.reason


async def test_park_enterprises_sit_under_the_park_big_grid(session_factory) -> None:
    async with session_factory() as session, session.begin():
        _, town = await county_with_town(session)
        park = await park_in(session, town)
        small = await register_enterprise(
            session,
            name="Dyeing Workshop 3",
            credit_code=credit_code(),
            headcount=80,
            industry="Dyeing",
            town_id=town.id,
            park_id=park.id,
        )
        big = await register_enterprise(
            session,
            name="Shanghai Tiqiao Jiangsu Textile",
            credit_code=credit_code(),
            headcount=650,
            industry="Textiles",
            town_id=town.id,
            park_id=park.id,
        )
    assert small.placement.grid.kind == GridKind.JOINT
    assert small.placement.grid.parent_id == park.id
    assert small.placement.grid.town_id == town.id
    assert park.name in small.placement.reason
    assert big.placement.grid.kind == GridKind.INDEPENDENT
    assert big.placement.grid.parent_id == park.id


async def test_a_headcount_change_across_200_moves_and_records(session_factory) -> None:
    async with session_factory() as session, session.begin():
        _, town = await county_with_town(session)
        result = await register_enterprise(
            session,
            name="Linhai Electronics",
            credit_code=credit_code(),
            headcount=150,
            industry="Electronics",
            town_id=town.id,
        )
        enterprise_id = result.enterprise.id
        joint_id = result.placement.grid.id
        ticket = await report_ticket(
            session,
            title="Overtime unpaid",
            source=TicketSource.WORKER_REQUEST,
            enterprise_id=enterprise_id,
        )
        ticket_id = ticket.id

    async with session_factory() as session, session.begin():
        grown = await update_enterprise(session, enterprise_id=enterprise_id, headcount=230)
        assert grown.moved and grown.placement.grid.kind == GridKind.INDEPENDENT
        independent_id = grown.placement.grid.id

    async with session_factory() as session, session.begin():
        same = await update_enterprise(session, enterprise_id=enterprise_id, headcount=260)
        assert not same.moved  # still 200+: stays in its own grid

    async with session_factory() as session, session.begin():
        shrunk = await update_enterprise(session, enterprise_id=enterprise_id, headcount=199)
        assert shrunk.moved and shrunk.placement.grid.id == joint_id

    async with session_factory() as session:
        moves = list(
            await session.scalars(
                select(GridMove)
                .where(GridMove.enterprise_id == enterprise_id)
                .order_by(GridMove.moved_at)
            )
        )
        assert [(m.from_grid_id, m.to_grid_id) for m in moves] == [
            (None, joint_id),
            (joint_id, independent_id),
            (independent_id, joint_id),
        ]
        assert [m.headcount for m in moves] == [150, 230, 199]
        retired = await session.get(Grid, independent_id)
        assert retired is not None and retired.deleted_at is not None
        from api.tickets.models import Ticket

        moved_ticket = await session.get(Ticket, ticket_id)
        assert moved_ticket is not None
        assert moved_ticket.grid_id == joint_id and moved_ticket.status == TicketStatus.REPORTED
        assert moved_ticket.version == 3  # moved twice after creation


async def test_bad_input_names_the_field(session_factory) -> None:
    async with session_factory() as session, session.begin():
        county, town = await county_with_town(session)
        code = credit_code()
        await register_enterprise(
            session, name="A", credit_code=code, headcount=5, industry="Food", town_id=town.id
        )
        cases = [
            ({"credit_code": code}, "creditCode"),  # duplicate
            ({"credit_code": "91320924MA1XXXXX"}, "creditCode"),
            ({"headcount": -1}, "headcount"),
            ({"town_id": county.id}, "townId"),
            ({"name": "  "}, "name"),
            ({"industry": ""}, "industry"),
        ]
        for override, field in cases:
            args = {
                "name": "B",
                "credit_code": credit_code(),
                "headcount": 5,
                "industry": "Food",
                "town_id": town.id,
            } | override
            with pytest.raises(DomainError) as caught:
                await register_enterprise(session, **args)
            assert caught.value.field == field, (override, caught.value)


def test_identifier_validation() -> None:
    code = credit_code()
    assert normalize_credit_code(code.lower()) == code
    broken = code[:17] + ("1" if code[17] != "1" else "2")
    with pytest.raises(DomainError) as caught:
        normalize_credit_code(broken)
    assert "check character" in english(caught.value.message)
    with pytest.raises(DomainError) as caught:
        normalize_credit_code("I" * 18)
    assert "cannot contain" in english(caught.value.message)
    assert normalize_phone("+86 138-0000-0000") == "13800000000"
    with pytest.raises(DomainError) as caught:
        normalize_phone("12345")
    assert caught.value.field == "phone"
