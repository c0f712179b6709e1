from django.urls import path

app_name = "composer"

urlpatterns: list = []
