"""Celery entry points of the connections app: thin, one service call each (the lead wires beat)."""

from __future__ import annotations

from celery import shared_task

from connections.services import channels_refresh_expiring_tokens


@shared_task(name="connections.refresh_expiring_tokens", ignore_result=True)
def refresh_expiring_tokens() -> dict[str, int]:
    """Renews tokens that expire within 7 days (Threads, X OAuth 2.0, Instagram Login). Run it daily;
    X access tokens live 2 hours, so hourly keeps X refresh tokens in use as well."""
    report = channels_refresh_expiring_tokens()
    return {
        "refreshed": len(report.refreshed),
        "needs_reconnect": len(report.needs_reconnect),
        "failed_for_now": len(report.failed_for_now),
        "skipped": len(report.skipped),
    }
