"""The API's endpoints (/api/v1/). Thin like the web views: a selector, a serializer for the shape, one
service call. Conditional reads (ETag) and Idempotency-Key on creates for every view (ApiViewMixin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api import filters, selectors
from api.conditional import run_idempotently, with_etag
from api.models import TokenScope
from api.pagination import DueCursorPagination
from api.problems import Conflict, application_error_response, problem_response
from api.serializers import (
    ArchiveExportRequestSerializer,
    ArchiveExportSerializer,
    CalendarQuerySerializer,
    CalendarSerializer,
    ChannelSerializer,
    DeliverySerializer,
    DepartmentSerializer,
    MediaAssetSerializer,
    MediaUploadSerializer,
    PostActionSerializer,
    PostSerializer,
    PostUpdateSerializer,
    PostWriteSerializer,
    ProblemSerializer,
)
from archive.exports import ExportFilters, export_open, export_request
from archive.models import ExportStatus, RecordsExport
from archive.selectors import export_get_for_user, exports_for_user
from civicpost.exceptions import ApplicationError
from medialibrary.selectors import media_for_user
from medialibrary.services import MediaAlreadyInLibrary, media_upload
from scheduler import rules, services
from scheduler.blackouts import BlackoutRefused
from scheduler.models import CANCELLABLE_STATUSES, EDITABLE_STATUSES, SUBMITTABLE_STATUSES, Post

PROBLEM = OpenApiResponse(ProblemSerializer, description=_("Problem details (application/problem+json)."))
PROBLEM_TYPE = "application/problem+json"


def problems(*codes: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Problem responses documented with the media type they are sent with (RFC 9457)."""
    return {(code, PROBLEM_TYPE): PROBLEM for code in codes}


ERRORS = problems(400, 401, 403, 404, 429)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=_("Send the same key again (with the same body) to get the first response instead of a second create."),
)


class ApiViewMixin:
    """ETag/If-None-Match on every successful read."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        return with_etag(request, response)


@extend_schema_view(
    list=extend_schema(summary="Your departments", responses={200: DepartmentSerializer, **ERRORS}),
    retrieve=extend_schema(summary="One of your departments", responses={200: DepartmentSerializer, **ERRORS}),
)
class DepartmentViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = DepartmentSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.departments_for_api(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Channels of your departments", responses={200: ChannelSerializer, **ERRORS}),
    retrieve=extend_schema(summary="One channel", responses={200: ChannelSerializer, **ERRORS}),
)
class ChannelViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ChannelSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.channels_for_api(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Deliveries of the posts you may see", responses={200: DeliverySerializer, **ERRORS}),
    retrieve=extend_schema(summary="One delivery and its status", responses={200: DeliverySerializer, **ERRORS}),
)
class DeliveryViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    filterset_class = filters.DeliveryFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.deliveries_for_api(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Posts you may see", responses={200: PostSerializer, **ERRORS}),
    retrieve=extend_schema(summary="One post, with its deliveries", responses={200: PostSerializer, **ERRORS}),
)
class PostViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Posts: what scheduler.selectors.posts_visible_to lets the caller see; writes through
    scheduler.services with scheduler.rules deciding who may (403) and the post's state when (409)."""

    serializer_class = PostSerializer
    filterset_class = filters.PostFilter
    pagination_class = DueCursorPagination
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    scopes = {
        "list": TokenScope.READ,
        "retrieve": TokenScope.READ,
        "create": TokenScope.DRAFT,
        "partial_update": TokenScope.DRAFT,
        "cancel": TokenScope.DRAFT,
        "submit": TokenScope.SUBMIT,
    }

    def get_queryset(self) -> Any:
        return selectors.posts_for_api(user=self.request.user)

    def get_object(self) -> Post:
        post = selectors.post_get_for_api(user=self.request.user, post_id=int(self.kwargs["pk"]))
        self.check_object_permissions(self.request, post)
        return post

    def _shown(self, post: Post, code: int = status.HTTP_200_OK, **headers: str) -> Response:
        fresh = selectors.post_get_for_api(user=self.request.user, post_id=post.pk)
        response = Response(PostSerializer(fresh, context={"request": self.request}).data, status=code)
        for name, value in headers.items():
            response[name] = value
        return response

    @extend_schema(
        summary="Write a draft",
        request=PostWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PostSerializer, **problems(409), **ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def create_once() -> Response:
            serializer = PostWriteSerializer(data=request.data, context={"request": request})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            try:
                post = services.post_create(
                    author=request.user,
                    department=data["department"],
                    text=data["text"],
                    link=data["link"],
                    channels=data["channels"],
                    due_at=data["due_at"],
                    channel_text=data.get("channel_text"),
                    languages=data.get("languages"),
                    media=data.get("media"),
                )
            except ApplicationError as error:
                return application_error_response(error)
            location = reverse("api:post-detail", kwargs={"pk": post.pk})
            return self._shown(post, status.HTTP_201_CREATED, Location=location)

        return run_idempotently(request, create_once)

    @extend_schema(
        summary="Change a post",
        description=_("An approved post goes back for approval. Fields left out stay as they are."),
        request=PostUpdateSerializer,
        responses={200: PostSerializer, **problems(409), **ERRORS},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        post = self.get_object()
        if not rules.can_edit_post(request.user, post):
            if post.status not in EDITABLE_STATUSES or rules.post_is_emergency(post):
                raise Conflict(
                    _("A post that is %(status)s can no longer be edited.")
                    % {"status": post.get_status_display().lower()}
                )
            self.permission_denied(request, message=_("Only members of its department can change this post."))
        serializer = PostUpdateSerializer(data=request.data, context={"request": request}, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            post = services.post_update(
                post=post,
                user=request.user,
                text=data.get("text", post.text),
                link=data.get("link", post.link) if "link" in request.data else post.link,
                channels=data.get("channels", list(post.channels.all())),
                due_at=data.get("due_at", post.due_at),
                channel_text=data.get("channel_text"),
                languages=data.get("languages"),
                media=data.get("media"),
                blackout_override_reason=data.get("blackout_override_reason", ""),
            )
        except BlackoutRefused as refused:
            return application_error_response(refused, status_code=409)
        return self._shown(post)

    @extend_schema(
        summary="Send a draft for approval",
        request=PostActionSerializer,
        responses={200: PostSerializer, **problems(409), **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        post = self.get_object()
        if not rules.can_submit_post(request.user, post):
            if post.status not in SUBMITTABLE_STATUSES:
                raise Conflict(_("Only drafts and posts with requested changes can be submitted."))
            self.permission_denied(request, message=_("Only members of its department can submit this post."))
        serializer = PostActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            post = services.post_submit(
                post=post,
                user=request.user,
                blackout_override_reason=serializer.validated_data["blackout_override_reason"],
            )
        except BlackoutRefused as refused:
            return application_error_response(refused, status_code=409)
        return self._shown(post)

    @extend_schema(
        summary="Cancel a post",
        description=_("Deliveries already published stay published; the rest never go out."),
        request=PostActionSerializer,
        responses={200: PostSerializer, **problems(409), **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        post = self.get_object()
        if not rules.can_cancel_post(request.user, post):
            if post.status not in CANCELLABLE_STATUSES:
                raise Conflict(_("This post has already been published and cannot be cancelled."))
            self.permission_denied(request, message=_("You cannot cancel posts of this department."))
        serializer = PostActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            post = services.post_cancel(post=post, user=request.user, comment=serializer.validated_data["comment"])
        except ApplicationError as error:
            # Being published right now: the state, not the request, is the reason.
            return application_error_response(error, status_code=409)
        return self._shown(post)


@extend_schema_view(
    list=extend_schema(summary="Your departments' media library", responses={200: MediaAssetSerializer, **ERRORS}),
    retrieve=extend_schema(summary="One media file", responses={200: MediaAssetSerializer, **ERRORS}),
)
class MediaViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = MediaAssetSerializer
    lookup_value_regex = r"\d+"
    scopes = {"list": TokenScope.READ, "retrieve": TokenScope.READ, "create": TokenScope.DRAFT}

    def get_queryset(self) -> Any:
        return media_for_user(user=self.request.user).order_by("-id")

    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Upload an image or video with its alt text",
        request={"multipart/form-data": MediaUploadSerializer},
        parameters=[IDEMPOTENCY_KEY],
        responses={201: MediaAssetSerializer, **problems(409, 415), **ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def create_once() -> Response:
            serializer = MediaUploadSerializer(data=request.data, context={"request": request})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            try:
                asset = media_upload(
                    user=request.user, department=data["department"], upload=data["file"], alt_text=data["alt_text"]
                )
            except MediaAlreadyInLibrary as same:
                # The library has this file: the caller should use that asset (its id is in `asset`).
                return problem_response(409, same.message, kind="media-already-in-library", asset=same.asset.pk)
            except ApplicationError as error:
                return application_error_response(error)
            response = Response(MediaAssetSerializer(asset).data, status=status.HTTP_201_CREATED)
            response["Location"] = reverse("api:media-detail", kwargs={"pk": asset.pk})
            return response

        return run_idempotently(request, create_once)


class CalendarView(ApiViewMixin, GenericAPIView):
    """The calendar for a date range, as JSON: the posts the caller may see, in publishing order."""

    serializer_class = CalendarSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        summary="The calendar for a date range",
        parameters=[CalendarQuerySerializer],
        responses={200: CalendarSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = CalendarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start_day, end_day = query.validated_data["start"], query.validated_data["end"]
        start = dt.datetime.combine(start_day, dt.time.min, tzinfo=dt.UTC)
        end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        posts = selectors.posts_for_calendar_api(user=request.user, start=start, end=end)
        data = {
            "start": start_day,
            "end": end_day,
            "ical_feed_settings": request.build_absolute_uri(reverse("scheduler:calendar_feed_settings")),
            "entries": list(posts),
        }
        return Response(CalendarSerializer(data, context={"request": request}).data)


@extend_schema_view(
    list=extend_schema(
        summary="Records-request exports (records officers)", responses={200: ArchiveExportSerializer, **ERRORS}
    ),
    retrieve=extend_schema(
        summary="One export: its status and progress", responses={200: ArchiveExportSerializer, **ERRORS}
    ),
)
class ArchiveExportViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The public-records archive's exports, for records officers (everyone else: 404). An export runs in
    the background: create it, poll it until `status` is "done", then download the ZIP bundle (it holds
    verify_bundle.py and a manifest). Exporting reads records, so a token's read scope is enough."""

    serializer_class = ArchiveExportSerializer
    lookup_field = "key"
    lookup_url_kwarg = "export_key"
    lookup_value_regex = r"[0-9a-f-]{36}"
    scopes = {
        "list": TokenScope.READ,
        "retrieve": TokenScope.READ,
        "create": TokenScope.READ,
        "download": TokenScope.READ,
    }

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(response, "streaming", False):
            # The bundle streams from disk: its ETag is its SHA-256 (set in `download`), not a hash of a body
            # read into memory.
            return super(ApiViewMixin, self).finalize_response(request, response, *args, **kwargs)
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no records officer
            return RecordsExport.objects.none()
        return exports_for_user(user=self.request.user)

    def get_object(self) -> Any:
        return export_get_for_user(user=self.request.user, key=self.kwargs["export_key"])

    @extend_schema(
        summary="Start a records-request export",
        request=ArchiveExportRequestSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: ArchiveExportSerializer, **ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def create_once() -> Response:
            exports_for_user(user=request.user)  # 404 for anyone but a records officer
            serializer = ArchiveExportRequestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            filters = ExportFilters(
                date_from=data["date_from"],
                date_to=data["date_to"],
                department_ids=tuple(data["departments"]),
                channel_ids=tuple(data["channels"]),
                keywords=tuple(data["keywords"]),
            )
            try:
                export = export_request(user=request.user, filters=filters, reference=data["reference"])
            except ApplicationError as error:
                return application_error_response(error)
            response = Response(ArchiveExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)
            response["Location"] = reverse("api:archive-export-detail", kwargs={"export_key": export.key})
            return response

        return run_idempotently(request, create_once)

    @extend_schema(
        summary="Download the export's ZIP bundle",
        responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, export_key: str) -> FileResponse:
        export = self.get_object()
        if export.status != ExportStatus.DONE:
            raise Http404("The bundle is not ready.")
        name = f"records-{export.request_reference or export.key}.zip".replace('"', "")
        response = FileResponse(export_open(export), as_attachment=True, filename=name, content_type="application/zip")
        response["ETag"] = f'"{export.sha256[:40]}"'
        return response
