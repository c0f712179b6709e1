"""Single sign-on is configured from the environment only (accounts/sso.py): a client secret typed into the
admin would be stored in clear, and CivicPost keeps no identity-provider tokens."""

from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin

for model in (SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
