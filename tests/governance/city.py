import pytest

from departments.models import CityRole, CityRoleName, Role
from tests.conftest import Personas
from tests.factories import ChannelFactory, UserFactory, member


class City(Personas):
    """The suite's personas plus: Pat (Parks admin), Vera (viewer), Ivan (IT admin), Olga (authorised
    official, no department), Max (communications manager by city role), a second Parks approver (Quinn)."""

    def __init__(self) -> None:
        super().__init__()
        self.pat = member("pat", self.parks, Role.ADMIN)
        self.quinn = member("quinn", self.parks, Role.APPROVER)
        self.vera = UserFactory(username="vera")
        CityRole.objects.create(user=self.vera, role=CityRoleName.VIEWER)
        self.ivan = UserFactory(username="ivan")
        CityRole.objects.create(user=self.ivan, role=CityRoleName.IT_ADMIN)
        self.olga = UserFactory(username="olga")
        CityRole.objects.create(user=self.olga, can_post_emergency=True)
        self.max = UserFactory(username="max")
        CityRole.objects.create(user=self.max, role=CityRoleName.COMMUNICATIONS_MANAGER)
        self.library_second = ChannelFactory(department=self.library, display_name="Library second")


@pytest.fixture
def city(db: None) -> City:
    return City()
