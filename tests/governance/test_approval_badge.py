"""The approvals badge and queue (scheduler.selectors.posts_awaiting_approval) count in SQL what the policy
evaluator (scheduler.approvals.posts_user_can_approve_now) decides post by post: the same posts, for every
person, across multi-step, "all", named-person and default policies, votes of earlier rounds and votes on
other content."""

import datetime as dt

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from departments.models import ApprovalMode, Department, Role
from departments.selectors import department_ids_user_approves, forget_cached_roles
from departments.services import approval_step_add
from scheduler import selectors, services
from scheduler.approvals import posts_user_can_approve_now
from scheduler.models import ApprovalVote, Post, PostStatus
from tests.factories import ChannelFactory, DepartmentFactory, member
from tests.scheduler import draft_post, submitted_post


def waiting_by_the_evaluator(user: User) -> set[int]:
    """What the badge counted before it was SQL: every submitted post the user may approve for, through the
    policy evaluator one by one."""
    approves = department_ids_user_approves(user=user)
    if approves is not None and not approves:
        return set()
    posts = Post.objects.filter(status=PostStatus.SUBMITTED).exclude(author=user)
    if approves is not None:
        posts = posts.filter(department_id__in=approves)
    return {post.pk for post in posts_user_can_approve_now(user=user, posts=posts)}


def varied_city(city):  # noqa: ANN001, ANN201
    """Parks: all its approvers, then a communications manager. Library: Olga (named, no department) and its
    admins, then any approver. Works: the default policy. Posts at every stage of each."""
    approval_step_add(
        user=city.pat,
        department=city.parks,
        name="Parks review",
        mode=ApprovalMode.ALL,
        department_approvers=True,
    )
    approval_step_add(user=city.pat, department=city.parks, name="Communications", communications_managers=True)
    city.lena = member("lena", city.library, Role.ADMIN)
    city.liam = member("liam", city.library, Role.APPROVER)
    approval_step_add(
        user=city.lena, department=city.library, name="Director", department_admins=True, users=[city.olga]
    )
    approval_step_add(user=city.lena, department=city.library, name="Library", department_approvers=True)
    works = DepartmentFactory(name="Public Works", slug="works")
    city.walt = member("walt", works, Role.EDITOR)
    city.wren = member("wren", works, Role.APPROVER)
    works_channel = ChannelFactory(department=works, display_name="Works on Sandbox")
    city.gone = member("gone", city.parks, Role.APPROVER)

    parks, library = [city.parks_channel], [city.library_channel]
    later = {"due_in": dt.timedelta(days=2)}
    submitted_post(author=city.alice, channels=parks)  # nobody voted
    half = submitted_post(author=city.alice, channels=parks, text="Half of the Parks approvers.")
    services.post_approve(post=half, user=city.bob)
    step_two = submitted_post(author=city.alice, channels=parks, text="Every Parks approver.", **later)
    for approver in (city.bob, city.quinn, city.pat, city.gone):
        services.post_approve(post=step_two, user=approver)
    other_content = submitted_post(author=city.alice, channels=parks, text="A vote on other content.")
    services.post_approve(post=other_content, user=city.bob)
    ApprovalVote.objects.filter(post=other_content).update(content_hash="0" * 64)
    earlier_round = submitted_post(author=city.alice, channels=parks, text="Sent back once.")
    services.post_approve(post=earlier_round, user=city.quinn)
    services.post_request_changes(post=earlier_round, user=city.bob, comment="Add the address.")
    services.post_submit(post=earlier_round, user=city.alice)
    submitted_post(author=city.bob, channels=parks, text="An approver's own post.")
    draft_post(author=city.alice, channels=parks, text="Still a draft.")

    submitted_post(author=city.carol, channels=library)
    by_olga = submitted_post(author=city.carol, channels=library, text="The director said yes.")
    services.post_approve(post=by_olga, user=city.olga)
    submitted_post(author=city.lena, channels=library, text="The library admin's own post.")
    done = submitted_post(author=city.carol, channels=library, text="All the way.")
    services.post_approve(post=done, user=city.lena)
    services.post_approve(post=done, user=city.liam)

    submitted_post(author=city.walt, channels=[works_channel])
    submitted_post(author=city.walt, channels=[works_channel], text="Second works post.", **later)
    # An approver whose account was switched off after voting: gone from every step's approvers.
    User.objects.filter(pk=city.gone.pk).update(is_active=False)
    return city


def everyone(city) -> list[User]:  # noqa: ANN001
    return list(User.objects.filter(is_active=True).order_by("username"))


def test_the_badge_counts_what_the_policy_evaluator_decides_for_every_person(city):
    varied_city(city)
    seen_waiting = 0
    for user in everyone(city):
        forget_cached_roles(user)
        expected = waiting_by_the_evaluator(user)
        forget_cached_roles(user)
        waiting = set(selectors.posts_awaiting_approval(user=user).values_list("pk", flat=True))
        assert waiting == expected, user.username
        assert selectors.posts_awaiting_approval(user=user).count() == len(expected), user.username
        seen_waiting += len(expected)
    # The dataset exercises the rules: people wait on different posts, some on none.
    assert seen_waiting >= 10


def test_the_badge_follows_each_vote(city):
    varied_city(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel], text="Follow me.")
    queue = lambda user: set(selectors.posts_awaiting_approval(user=user).values_list("pk", flat=True))  # noqa: E731
    assert post.pk in queue(city.bob) and post.pk in queue(city.quinn)
    assert post.pk not in queue(city.dana)
    services.post_approve(post=post, user=city.bob)
    assert post.pk not in queue(city.bob) and post.pk in queue(city.quinn)
    services.post_approve(post=post, user=city.quinn)
    services.post_approve(post=post, user=city.pat)
    assert post.pk not in queue(city.quinn) and post.pk in queue(city.dana) and post.pk in queue(city.max)
    services.post_request_changes(post=post, user=city.dana, comment="Shorter, please.")
    assert post.pk not in queue(city.dana)
    services.post_submit(post=post, user=city.alice)
    assert post.pk in queue(city.bob) and post.pk not in queue(city.dana)


def test_the_badge_takes_the_same_queries_for_ten_posts_or_forty(city, client):
    varied_city(city)
    client.force_login(city.dana)

    def badge_queries() -> int:
        user = User.objects.get(pk=city.dana.pk)
        with CaptureQueriesContext(connection) as captured:
            selectors.posts_awaiting_approval(user=user).count()
        return len(captured)

    before = badge_queries()
    for n in range(30):
        post = submitted_post(author=city.alice, channels=[city.parks_channel], text=f"More news {n}.")
        if n % 3 == 0:
            services.post_approve(post=post, user=city.bob)
    assert badge_queries() == before
    # No list of ids grows with the posts: the count is one statement over the policy rows.
    with CaptureQueriesContext(connection) as captured:
        selectors.posts_awaiting_approval(user=User.objects.get(pk=city.max.pk)).count()
    assert max(len(q["sql"]) for q in captured.captured_queries) < 4000


def test_the_month_page_runs_the_same_queries_however_many_posts_wait_for_approval(city, client):
    """Every page shows the badge: the calendar month page's queries do not grow with the posts waiting
    (none at their first step, some part-way through a two-step policy)."""
    varied_city(city)
    client.force_login(city.dana)
    url = reverse("scheduler:calendar_month")

    def page_queries() -> int:
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        assert response.context["nav_approval_count"]() == len(waiting_by_the_evaluator(city.dana))
        return len(captured)

    before = page_queries()
    for n in range(30):
        post = submitted_post(author=city.alice, channels=[city.parks_channel], text=f"Waiting {n}.")
        if n % 3 == 0:
            for approver in (city.bob, city.quinn, city.pat):
                services.post_approve(post=post, user=approver)
    assert page_queries() == before


def badge_count(user: User) -> int:
    """What the header shows: the count the navigation computes for this person (a fresh user object, as
    each request loads)."""
    return selectors.approval_queue_count(user=User.objects.get(pk=user.pk))


def queue_length(user: User) -> int:
    return len(list(selectors.posts_awaiting_approval(user=User.objects.get(pk=user.pk))))


def test_a_first_step_open_to_managers_elsewhere_does_not_open_this_department_s_first_step(city):
    """Works' first step names communications managers; Parks' first step names only its approvers. A Parks
    post nobody voted on yet waits for Parks approvers, not for Dana or Max (managers), whatever Works says."""
    varied_city(city)
    works = Department.objects.get(slug="works")
    approval_step_add(user=city.max, department=works, name="Comms first", communications_managers=True)
    parks_post = submitted_post(author=city.alice, channels=[city.parks_channel], text="Parks only at first.")
    for manager in (city.dana, city.max):
        forget_cached_roles(manager)
        assert parks_post.pk not in waiting_by_the_evaluator(manager)
        forget_cached_roles(manager)
        assert parks_post.pk not in set(selectors.posts_awaiting_approval(user=manager).values_list("pk", flat=True))
    for user in everyone(city):
        forget_cached_roles(user)
        assert badge_count(user) == len(waiting_by_the_evaluator(user)) == queue_length(user), user.username


def test_the_badge_equals_the_queue_for_every_person_at_every_step(city):
    """Each role and policy of varied_city (multi-step "all" then managers, named person and admins, the
    default policy), a post that has passed its first step and waits at the second, and an emergency post
    (published past the queue): the badge shows exactly the length of the person's queue."""
    from governance.emergency import LanguageVersion, emergency_publish

    varied_city(city)
    second_step = submitted_post(author=city.alice, channels=[city.parks_channel], text="At the second step.")
    for approver in (city.bob, city.quinn, city.pat):
        services.post_approve(post=second_step, user=approver)
    emergency_publish(user=city.olga, channels=[city.parks_channel], versions=[LanguageVersion("en", "Boil water.")])
    emergency = Post.objects.get(emergency__isnull=False)
    for user in everyone(city):
        count = badge_count(user)
        assert count == queue_length(user) == len(waiting_by_the_evaluator(user)), user.username
        queue = set(selectors.posts_awaiting_approval(user=User.objects.get(pk=user.pk)).values_list("pk", flat=True))
        assert emergency.pk not in queue
    assert badge_count(city.dana) == queue_length(city.dana) >= 1
    assert second_step.pk in set(selectors.posts_awaiting_approval(user=city.max).values_list("pk", flat=True))
    assert badge_count(city.bob) == queue_length(city.bob) >= 1


def test_a_fragment_without_the_header_does_not_count_the_queue(city, client):
    """The post page polls its delivery table with htmx: that fragment draws no header, so it does not read
    the votes to count the badge; the full page shows the badge."""
    varied_city(city)
    post = submitted_post(author=city.alice, channels=[city.parks_channel], text="Polled.")
    client.force_login(city.bob)
    client.get(reverse("scheduler:post_detail", args=[post.pk]))  # warm the session

    def badge_statements(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return sum("governance_approvalvote" in q["sql"] for q in captured.captured_queries)

    assert badge_statements(reverse("scheduler:post_deliveries", args=[post.pk])) == 0
    page = client.get(reverse("scheduler:calendar_month"))
    assert page.context["nav_approval_count"]() == queue_length(city.bob) >= 1
    assert b"civic-count" in page.content
