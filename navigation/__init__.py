"""The header's navigation grouped by task. It names every app's pages, so it sits on top of the layers and no
app imports it (it was civicpost.navigation, which made civicpost depend on the apps above it)."""
