"""Session keys one app's pages set and another's read. Imports no feature app."""

# The composer's draft key of a save that just succeeded (composer.compose_views sets it); the post page
# (scheduler.views.post_detail) pops it and tells the browser to drop its copy of the draft.
SAVED_DRAFT_SESSION_KEY = "composer_saved_draft"

# The interface language a signed-in person chose ("" = follow the browser): copied from their settings
# (people.PersonalSettings) at sign-in and when they change it (accounts), read on every request by
# accounts.middleware.UserLanguageMiddleware, so no request pays a query for it.
LANGUAGE_SESSION_KEY = "civicpost_language"
