"""The doctor's checks of the sync layer: Web Push (configured, recent failure rate), push
subscriptions gone stale, the sync log's size and the oldest checkpoint still in use."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from api.doctor import Checkup, Finding, Status, check, fmt_time
from api.i18n import _
from sync.models import ChangeRow, SyncClient
from sync.push_models import DeliveryStatus, PushDelivery, PushSubscription

FAILURE_WINDOW = timedelta(hours=24)
FAILURE_RATE = 0.2
STALE_AFTER = timedelta(days=30)
STALE_FAILURES = 5


@check("push")
async def _push(checkup: Checkup) -> list[Finding]:
    if not checkup.settings.vapid_private_key:
        return [
            Finding(
                "push",
                Status.WARN,
                _("Web Push is not configured: liaisons' phones get no ticket notifications."),
                _(
                    "Run gridlink vapid-keys, put GRIDLINK_VAPID_PRIVATE_KEY in the environment, "
                    "restart."
                ),
            )
        ]
    since = checkup.now - FAILURE_WINDOW
    async with checkup.sessions() as session:
        rows = (
            await session.execute(
                select(PushDelivery.status, func.count())
                .where(PushDelivery.updated_at >= since)
                .group_by(PushDelivery.status)
            )
        ).all()
    counts = {status: count for status, count in rows}
    failed = counts.get(DeliveryStatus.FAILED, 0)
    done = failed + counts.get(DeliveryStatus.DELIVERED, 0) + counts.get(DeliveryStatus.GONE, 0)
    pending = counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0)
    rate = failed / done if done else 0.0
    summary = _(
        "last 24 h: {done} pushes, {failed} failed ({rate}), {pending} waiting.",
        done=done,
        failed=failed,
        rate=f"{rate:.0%}",
        pending=pending,
    )
    if done and rate > FAILURE_RATE:
        return [
            Finding(
                "push",
                Status.WARN,
                _("high push failure rate: {summary}", summary=summary),
                _(
                    "Read the push errors in the worker log; check GRIDLINK_VAPID_SUBJECT and "
                    "outbound access."
                ),
            )
        ]
    return [Finding("push", Status.OK, _("Web Push on; {summary}", summary=summary))]


@check("subscriptions")
async def _subscriptions(checkup: Checkup) -> list[Finding]:
    old = checkup.now - STALE_AFTER
    async with checkup.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(PushSubscription)) or 0
        stale = await session.scalar(
            select(func.count())
            .select_from(PushSubscription)
            .where(
                or_(
                    PushSubscription.failure_count >= STALE_FAILURES,
                    func.coalesce(PushSubscription.last_success_at, PushSubscription.created_at)
                    < old,
                )
            )
        ) or 0  # fmt: skip
    if stale:
        return [
            Finding(
                "subscriptions",
                Status.WARN,
                _(
                    "{stale} of {total} push subscriptions look stale ({failures}+ failures in "
                    "a row or nothing delivered for 30 days).",
                    stale=stale,
                    total=total,
                    failures=STALE_FAILURES,
                ),
                _(
                    "Ask those people to reopen the app and allow notifications; see them with "
                    "gridlink account devices PHONE, remove with revoke-device."
                ),
            )
        ]
    return [
        Finding(
            "subscriptions", Status.OK, _("{total} push subscriptions, none stale.", total=total)
        )
    ]


@check("sync-log")
async def _sync_log(checkup: Checkup) -> list[Finding]:
    retention = timedelta(seconds=checkup.settings.sync_retention_seconds)
    async with checkup.sessions() as session:
        rows, oldest = (await session.execute(select(func.count(), func.min(ChangeRow.at)))).one()
        client = (
            await session.execute(
                select(SyncClient.client_id, SyncClient.last_pulled_at)
                .where(
                    SyncClient.last_checkpoint.is_not(None),
                    SyncClient.last_seen_at >= checkup.now - retention,
                )
                .order_by(SyncClient.last_pulled_at)
                .limit(1)
            )
        ).first()
    in_use = (
        _(
            "the oldest checkpoint in use is {client}'s (pulled {at})",
            client=client.client_id,
            at=fmt_time(client.last_pulled_at),
        )
        if client
        else _("no checkpoint in use")
    )
    text = _(
        "sync log: {rows} rows, oldest {oldest}; {in_use}.",
        rows=rows,
        oldest=fmt_time(oldest),
        in_use=in_use,
    )
    if oldest is not None and oldest < checkup.now - retention - timedelta(days=2):
        return [
            Finding(
                "sync-log",
                Status.WARN,
                _("the sync log is not pruned: {text}", text=text),
                _("Check that the worker runs (its sync-prune job), or run gridlink sync-prune."),
            )
        ]
    return [Finding("sync-log", Status.OK, text)]
