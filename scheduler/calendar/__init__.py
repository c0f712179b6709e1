"""Selectors of the shared calendar: month, week and agenda data, conflict hints and quiet channels.

One module per concern: `filters` (what is shown, saved preferences), `posts` (the queries), `entries` (a
post as the viewer sees it), `hints` (conflicts in words), `quiet` (quiet channels), `periods` with `month`,
`week` and `agenda` (the view models), `drafts` (the side panel of drafts to place on a day), `ical` (the
personal feed) and `statuses`. Who may manage
blackouts is scheduler.rules.user_can_manage_blackouts; blackout periods themselves are
scheduler/blackouts.py's; the pages are scheduler/calendar_views.py, the writes scheduler/calendar_services.py.

The builders run a fixed number of queries whatever the number of posts (at most 12; see
tests/scheduler/test_calendar.py and bench/calendar_month.py):

1. the viewer's memberships (cached on the user object),
2. the visible posts of the period, widened by the conflict margins (department and the current approval's
   approver joined, for the month's preview; a failed-delivery flag annotated),
3. their channels (one prefetch),
4. the blackout periods overlapping the period,
5. the quiet channels (one query with an EXISTS and a subquery),
6.-8. the filter choices: departments, channels, authors;
and on the pages, the drafts panel (`drafts`): one query for the viewer's drafts not on the page.

Filters are applied in Python on the fetched posts, so conflict hints still see the posts a filter hides
(a Parks post whose link the Library also shares is flagged even when only Parks is shown).

Times: each person sees the calendar in the zone of their first department (with the offset); posts of
departments in other zones land on the viewer's day and also say their own department's time.
"""
