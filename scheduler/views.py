from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from scheduler.models import SandboxPost


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return HttpResponse("CivicPost")


def sandbox_timeline(request: HttpRequest) -> HttpResponse:
    posts = SandboxPost.objects.select_related("channel__department")[:200]
    return render(request, "scheduler/sandbox_timeline.html", {"sandbox_posts": posts})
