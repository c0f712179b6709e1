"""Session keys one app's pages set and another's read. Imports no feature app."""

# The composer's draft key of a save that just succeeded (composer.compose_views sets it); the post page
# (scheduler.views.post_detail) pops it and tells the browser to drop its copy of the draft.
SAVED_DRAFT_SESSION_KEY = "composer_saved_draft"
