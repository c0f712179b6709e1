"""Media library pages, and the public address of each stored file (platforms such as Threads and
Instagram download media from it, so it needs no sign-in; names are random and unguessable)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from medialibrary import rules
from medialibrary.forms import AssetForm, UploadForm
from medialibrary.models import MediaAsset
from medialibrary.selectors import media_asset_posts, media_for_user, media_get_for_delete, media_get_for_user
from medialibrary.services import (
    MediaAlreadyInLibrary,
    guess_content_type,
    media_asset_delete,
    media_in_use_refusal,
    media_update,
    media_upload,
    rendition_original,
)
from medialibrary.video import ffmpeg_missing_notice

PAGE_SIZE = 60


@login_required
@require_http_methods(["GET", "POST"])
def library(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    existing = None  # the library's copy of a file uploaded again, offered instead
    if request.method == "POST" and form.is_valid():
        try:
            asset = media_upload(
                user=request.user,
                department=form.cleaned_data["department"],
                upload=form.cleaned_data["file"],
                alt_text=form.cleaned_data["alt_text"],
                captions=form.cleaned_data["captions"],
                transcript=form.cleaned_data["transcript"],
                captions_burned_in=form.cleaned_data["captions_burned_in"],
            )
        except MediaAlreadyInLibrary as same:
            form.add_error("file", same.message)
            existing = same.asset
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            messages.success(request, _("%(file)s was added to the media library.") % {"file": asset.original_name})
            return redirect("medialibrary:library")
    assets = list(media_for_user(user=request.user)[:PAGE_SIZE])
    deletable = {asset.pk for asset in assets if rules.can_delete_media(request.user, asset)}
    context = {
        "form": form,
        "assets": assets,
        "deletable": deletable,
        "existing": existing,
        "video_tools_notice": ffmpeg_missing_notice(),
    }
    return render(request, "medialibrary/library.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def asset_edit(request: AuthenticatedHttpRequest, asset_id: int) -> HttpResponse:
    asset = media_get_for_user(user=request.user, asset_id=asset_id)
    initial = {
        "alt_text": asset.alt_text,
        "transcript": asset.transcript,
        "captions_burned_in": asset.captions_burned_in,
    }
    form = AssetForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            media_update(
                user=request.user,
                asset=asset,
                alt_text=form.cleaned_data["alt_text"],
                transcript=form.cleaned_data["transcript"],
                captions=form.cleaned_data["captions"],
                remove_captions=form.cleaned_data["remove_captions"],
                captions_burned_in=form.cleaned_data["captions_burned_in"],
            )
        except ApplicationError as error:
            form.add_error("captions", error.message)
        else:
            messages.success(request, _("The file's details were saved."))
            return redirect("medialibrary:library")
    can_delete = rules.can_delete_media(request.user, asset)
    return render(request, "medialibrary/asset_edit.html", {"form": form, "asset": asset, "can_delete": can_delete})


@login_required
@require_http_methods(["GET", "POST"])
def asset_delete(request: AuthenticatedHttpRequest, asset_id: int) -> HttpResponse:
    """GET: what deleting means, or which posts keep the file; POST: deletes it (the service refuses, and
    the page says why, while a post uses it)."""
    asset = media_get_for_delete(user=request.user, asset_id=asset_id)
    name = asset.original_name or asset.file_name
    refusal, status = "", 200
    if request.method == "POST":
        try:
            media_asset_delete(asset=asset, actor=request.user)
        except ApplicationError as error:
            refusal, status = error.message, 409
        else:
            messages.success(request, _("%(file)s was deleted from the media library.") % {"file": name})
            return redirect("medialibrary:library")
    posts = media_asset_posts(asset=asset)
    context = {
        "asset": asset,
        "name": name,
        "posts": posts,
        "refusal": refusal or media_in_use_refusal(asset=asset, posts=posts),
    }
    return render(request, "medialibrary/asset_delete.html", context, status=status)


@require_GET
def public_file(request: HttpRequest, name: str) -> FileResponse:
    """Serves a library file by its storage name (only names the library made: library/<slug>/<hex>.<ext>,
    and the platform-fitted copies of those files, while the file they were made from is in the library)."""
    original = rendition_original(name) or name
    known = MediaAsset.objects.filter(Q(file_name=original) | Q(captions_name=name)).exists()
    if not name.startswith("library/") or ".." in name or not known:
        raise Http404("No such file.")
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError) as error:
        raise Http404("No such file.") from error
    response = FileResponse(handle, content_type=guess_content_type(name))
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Content-Disposition"] = "inline"
    return response
