"""Celery entry points: ids in, one service call each."""

from celery import shared_task

from archive import exports, services


@shared_task(name="archive.tasks.capture", ignore_result=True)
def capture() -> None:
    services.archive_capture()


@shared_task(name="archive.tasks.send_chain_head", ignore_result=True)
def send_chain_head() -> None:
    services.head_notice_send_daily()


@shared_task(name="archive.tasks.propose_disposition", ignore_result=True)
def propose_disposition() -> None:
    services.disposition_propose()


@shared_task(name="archive.tasks.build_export", ignore_result=True)
def build_export(export_id: int) -> None:
    exports.export_build(export_id=export_id)
