from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from analytics import views as analytics_views
from api.urls import token_urlpatterns as api_token_urlpatterns
from composer import urls as composer_urls
from departments import urls as departments_urls
from governance import policy_urls
from inbox import hooks as inbox_hooks
from medialibrary import views as medialibrary_views
from scheduler import urls as scheduler_urls

admin.autodiscover()
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "CivicPost administration"

# CivicPost's own pages in the site's layout (templates/403.html, 404.html); civicpost.errors explains.
handler403 = "civicpost.errors.permission_denied"
handler404 = "civicpost.errors.page_not_found"

urlpatterns = [
    # The REST API for the city's own systems (api/; README "API"), and its tokens on the account page.
    path("api/", include("api.urls")),
    path("accounts/security/api-tokens/", include((api_token_urlpatterns, "api_tokens"))),
    path("accounts/security/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("feeds/", include("feeds.urls")),
    path("channels/connect/", include("connections.urls")),
    path("health/", include("monitoring.urls")),
    path("media-library/", include("medialibrary.urls")),
    path("composer/", include("composer.urls")),
    # The department pages and the approval-policy pages (governance) share /departments/ and its URL names.
    path("departments/", include((departments_urls.urlpatterns + policy_urls.urlpatterns, "departments"))),
    path("governance/", include("governance.urls")),
    path("audit/", include("audittrail.urls")),
    path("analytics/", include("analytics.urls")),
    # A department's outbound webhooks (webhooks/) and the city feeds it turns into drafts (intake/).
    path("webhooks/", include("webhooks.urls")),
    path("feeds-to-drafts/", include("intake.urls")),
    path("records/", include("archive.urls")),
    path("inbox/", include("inbox.urls")),
    # Meta's Instagram webhook (the inbox's @mentions): public, refused unless signed with the Meta app secret.
    path("hooks/meta/instagram/", inbox_hooks.meta_instagram_webhook, name="meta_instagram_webhook"),
    # Posting slots, the queue and evergreen posts (postqueue/); the first-run checklist (firstrun/).
    path("queue/", include("postqueue.urls")),
    path("getting-started/", include("firstrun.urls")),
    # Short links in posts (analytics): public, counted, no personal data stored.
    path("l/<slug:code>", analytics_views.short_link_redirect, name="short_link"),
    # Uploaded media at its public address (MEDIA_URL): platforms download post images from here.
    path("media/<path:name>", medialibrary_views.public_file, name="media_file"),
    # Posts, approvals and the calendar, with the composer's post pages under the same "scheduler:" names.
    path("", include((scheduler_urls.urlpatterns + composer_urls.post_urlpatterns, scheduler_urls.app_name))),
]
