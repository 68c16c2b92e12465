"""Shared set-up for the notification and Web Push tests: a liaison with a ticket, devices
registered from the fake push service, and helpers to read deliveries back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.scope import scope_for
from api.members.models import Member
from api.members.service import create_member
from api.notifications.models import Notification, NotificationKind
from api.notifications.service import notify
from api.tickets.lifecycle import assign_ticket
from api.tickets.models import Ticket, TicketSource
from api.tickets.service import report_ticket
from sync.delivery import DeliveryPolicy, PushDeliverer
from sync.push_endpoints import EndpointPolicy
from sync.push_models import PushDelivery, PushSubscription
from sync.subscriptions import register_subscription
from tests.factories import county_with_town
from tests.fakepush import FakeDevice, FakePushService, ReceivedMessage

SUBJECT = "mailto:ops@gridlink.example"
PASSWORD = "correct horse"


@dataclass
class World:
    liaison: Member
    dispatcher: Member
    admin: Member
    ticket: Ticket
    town_id: uuid.UUID


async def make_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    async with sessions() as session, session.begin():
        _county, town = await county_with_town(session)
        liaison = await create_member(
            session,
            name="Wang Fang",
            phone="13900000001",
            roles=["LIAISON"],
            grid_ids=[town.id],
            password=PASSWORD,
        )
        dispatcher = await create_member(
            session,
            name="Li Ming",
            phone="13900000002",
            roles=["TOWN_STAFF"],
            grid_ids=[town.id],
            password=PASSWORD,
        )
        admin = await create_member(
            session, name="Zhao Admin", phone="13900000003", roles=["ADMIN"], password=PASSWORD
        )
        ticket = await report_ticket(
            session,
            title="Wages unpaid for two months",
            source=TicketSource.WORKER_REQUEST,
            grid_id=town.id,
        )
    return World(liaison, dispatcher, admin, ticket, town.id)


async def register_device(
    sessions: async_sessionmaker[AsyncSession], member: Member, device: FakeDevice
) -> PushSubscription:
    async with sessions() as session, session.begin():
        return await register_subscription(
            session,
            member_id=member.id,
            endpoint=device.endpoint,
            p256dh=device.p256dh,
            auth=device.auth,
            user_agent="Mozilla/5.0 (Android 14; Mobile)",
            allow_insecure=True,
        )


async def notify_assigned(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    *,
    title: str = "New ticket assigned: Wages unpaid for two months",
    ticket_id: uuid.UUID | None = None,
) -> Notification:
    async with sessions() as session, session.begin():
        notification = await notify(
            session,
            recipient_id=world.liaison.id,
            kind=NotificationKind.ASSIGNED,
            title=title,
            ticket_id=ticket_id or world.ticket.id,
            grid_id=world.town_id,
        )
    assert notification is not None
    return notification


async def assign_to_liaison(sessions: async_sessionmaker[AsyncSession], world: World) -> Ticket:
    """The dispatcher assigns the world's ticket to the liaison, through the real lifecycle."""
    async with sessions() as session, session.begin():
        dispatcher = await session.get(Member, world.dispatcher.id)
        assert dispatcher is not None
        return await assign_ticket(
            session,
            scope=await scope_for(session, dispatcher),
            ticket_id=world.ticket.id,
            assignee_id=world.liaison.id,
        )


async def deliveries(sessions: async_sessionmaker[AsyncSession]) -> list[PushDelivery]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(PushDelivery).order_by(PushDelivery.id)))


async def subscription_ids(sessions: async_sessionmaker[AsyncSession]) -> set[uuid.UUID]:
    async with sessions() as session:
        return set(await session.scalars(sa.select(PushSubscription.id)))


def payload(message: ReceivedMessage) -> dict[str, Any]:
    return json.loads(message.payload)


def make_deliverer(vapid_keys: tuple[str, str], **policy: Any) -> PushDeliverer:
    return PushDeliverer(
        vapid_private_key=vapid_keys[0],
        vapid_subject=SUBJECT,
        policy=DeliveryPolicy(**policy),
        endpoint_policy=EndpointPolicy(allow_insecure=True),  # the fake service is local
    )


@pytest.fixture
def deliverer(vapid_keys: tuple[str, str]) -> Iterator[PushDeliverer]:
    worker = make_deliverer(vapid_keys)
    yield worker
    worker.close()


__all__ = ["FakePushService"]
