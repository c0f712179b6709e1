from django.urls import path

from departments import views

app_name = "departments"

# Mounted at /departments/, with the approval-policy pages of governance.policy_urls (civicpost/urls.py).
urlpatterns = [
    path("", views.department_list, name="list"),
    path("<int:department_id>/members/", views.member_list, name="members"),
    path("<int:department_id>/members/add/", views.member_add, name="member_add"),
    path("<int:department_id>/members/import/", views.member_import, name="member_import"),
    path("<int:department_id>/members/import/confirm/", views.member_import_confirm, name="member_import_confirm"),
    path("<int:department_id>/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("<int:department_id>/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("<int:department_id>/settings/", views.department_settings, name="settings"),
    path("city-roles/", views.city_roles, name="city_roles"),
    path("city-roles/save/", views.city_role_save, name="city_role_save"),
    path("city-roles/<int:city_role_id>/remove/", views.city_role_delete, name="city_role_delete"),
]
