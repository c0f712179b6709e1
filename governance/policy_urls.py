"""The approval-policy pages' URLs: mounted by civicpost/urls.py at /departments/ in the "departments"
namespace, beside the department pages, so their addresses and names did not change when they moved here."""

from django.urls import path

from governance import policy_views as views

urlpatterns = [
    path("<int:department_id>/policy/", views.policy, name="policy"),
    path("<int:department_id>/policy/steps/add/", views.policy_step_add, name="policy_step_add"),
    path("<int:department_id>/policy/steps/<int:step_id>/delete/", views.policy_step_delete, name="policy_step_delete"),
    path("<int:department_id>/policy/steps/<int:step_id>/up/", views.policy_step_up, name="policy_step_up"),
]
