"""The doctor's checks of the sync layer: Web Push (configured, recent failure rate), push
subscriptions gone stale, the sync log's size and the oldest checkpoint still in use."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from api.doctor import Checkup, Finding, Status, check, fmt_time
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
                "未配置 Web Push：网格员手机收不到工单提醒。",
                "Web Push is not configured: liaisons' phones get no ticket notifications.",
                "运行 gridlink vapid-keys，把输出的 GRIDLINK_VAPID_PRIVATE_KEY 写入环境后重启。",
                "Run gridlink vapid-keys, put GRIDLINK_VAPID_PRIVATE_KEY in the environment, "
                "restart.",
            )  # fmt: skip
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
    summary_zh = f"近 24 小时推送 {done} 条，失败 {failed} 条（{rate:.0%}），待发 {pending} 条。"
    summary_en = f"last 24 h: {done} pushes, {failed} failed ({rate:.0%}), {pending} waiting."
    if done and rate > FAILURE_RATE:
        return [
            Finding(
                "push",
                Status.WARN,
                f"推送失败率偏高：{summary_zh}",
                f"high push failure rate: {summary_en}",
                "查看 worker 日志中的推送错误；检查 GRIDLINK_VAPID_SUBJECT 与出网访问。",
                "Read the push errors in the worker log; check GRIDLINK_VAPID_SUBJECT and "
                "outbound access.",
            )  # fmt: skip
        ]
    return [
        Finding("push", Status.OK, f"Web Push 已配置。{summary_zh}", f"Web Push on; {summary_en}")
    ]


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
                f"{total} 个推送订阅中有 {stale} 个已失效"
                f"（连续失败 {STALE_FAILURES} 次以上或 30 天未送达）。",
                f"{stale} of {total} push subscriptions look stale ({STALE_FAILURES}+ failures "
                "in a row or nothing delivered for 30 days).",
                "请相关人员在手机上重新打开网格员应用并允许通知；"
                "用 gridlink account devices 手机号 "
                "查看，必要时 revoke-device 移除。",
                "Ask those people to reopen the app and allow notifications; see them with "
                "gridlink account devices PHONE, remove with revoke-device.",
            )  # fmt: skip
        ]
    return [
        Finding(
            "subscriptions",
            Status.OK,
            f"{total} 个推送订阅均正常。",
            f"{total} push subscriptions, none stale.",
        )  # fmt: skip
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
    in_use_zh = (
        f"仍在使用的最旧检查点来自 {client.client_id}（{fmt_time(client.last_pulled_at)} 拉取）"
        if client
        else "没有在用的检查点"
    )
    in_use_en = (
        f"the oldest checkpoint in use is {client.client_id}'s "
        f"(pulled {fmt_time(client.last_pulled_at)})"
        if client
        else "no checkpoint in use"
    )
    text_zh = f"同步日志 {rows} 行，最早 {fmt_time(oldest)}；{in_use_zh}。"
    text_en = f"sync log: {rows} rows, oldest {fmt_time(oldest)}; {in_use_en}."
    if oldest is not None and oldest < checkup.now - retention - timedelta(days=2):
        return [
            Finding(
                "sync-log",
                Status.WARN,
                f"同步日志超出保留期未清理：{text_zh}",
                f"the sync log is not pruned: {text_en}",
                "确认 worker 在运行（其 sync-prune 每小时清理），或手动运行 gridlink sync-prune。",
                "Check that the worker runs (its sync-prune job), or run gridlink sync-prune.",
            )  # fmt: skip
        ]
    return [Finding("sync-log", Status.OK, text_zh, text_en)]
