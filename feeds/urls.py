from django.urls import path

from feeds import views

app_name = "feeds"

# "city" and "posts" are reserved words here: a department with either slug has no feed of its own
# under that name (the city-wide feed and the post pages are matched first).
urlpatterns = [
    path("", views.feeds_index, name="index"),
    path("city/", views.city_page, name="city_page"),
    path("city/rss.xml", views.city_rss, name="city_rss"),
    path("city/atom.xml", views.city_atom, name="city_atom"),
    path("posts/<uuid:key>/", views.post_public, name="post"),
    path("<slug:department_slug>/", views.department_page, name="department_page"),
    path("<slug:department_slug>/rss.xml", views.department_rss, name="department_rss"),
    path("<slug:department_slug>/atom.xml", views.department_atom, name="department_atom"),
]
