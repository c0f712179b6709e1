"""factory_boy factories. Personas used across the suite:

- Alice edits for Parks; Bob approves for Parks; Carol edits for the Library (must never see Parks drafts);
- Dana is the communications manager (approver in the communications team: approves for every department).
"""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from departments.models import Department, Membership, Role
from scheduler.models import Channel, Post

PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@city.example")
    first_name = factory.LazyAttribute(lambda u: u.username.capitalize())
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def email_address(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Department {n}")
    slug = factory.Sequence(lambda n: f"department-{n}")
    time_zone = "America/Chicago"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = Role.EDITOR


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    department = factory.SubFactory(DepartmentFactory)
    platform = "sandbox"
    display_name = factory.Sequence(lambda n: f"Sandbox channel {n}")
    credentials = factory.LazyFunction(lambda: {"token": "sandbox-secret-token"})


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post
        skip_postgeneration_save = True

    department = factory.SubFactory(DepartmentFactory)
    author = factory.SubFactory(UserFactory)
    text = "Splash pads open Saturday at 10 a.m. at every city park."
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))

    @factory.post_generation
    def channels(self, create: bool, extracted: list[Channel] | None, **kwargs: object) -> None:
        if create and extracted:
            self.channels.set(extracted)


def member(username: str, department: Department, role: str = Role.EDITOR):  # noqa: ANN201
    user = UserFactory(username=username)
    MembershipFactory(user=user, department=department, role=role)
    return user
