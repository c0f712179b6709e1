"""Posts, their review and approval (votes, the policy evaluator scheduler.approvals), deliveries and
publishing, blackouts, crisis and per-post holds (post state), channels (the model and adapters, this round)
and e-mail notifications about posts. scheduler/services/ and scheduler/publishing.py are the only writers of
Post and Delivery state. Imports departments, medialibrary, audit and civicpost; never connections,
governance, composer, feeds, monitoring or accounts (composer_views and adapters/feed.py still do, until the
composer split and the adapter rework land)."""

from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduling and publishing"

    def ready(self) -> None:
        from departments.services import language_use_checks  # models are loaded only once apps are ready
        from scheduler.selectors import language_use_refusal  # registered here: departments sits below us

        if language_use_refusal not in language_use_checks:
            language_use_checks.append(language_use_refusal)
