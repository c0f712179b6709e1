"""API test helpers: tokens for the personas, a client that sends one, and a small PNG to upload."""

from __future__ import annotations

import io
from collections.abc import Iterable

import pytest
from PIL import Image
from rest_framework.test import APIClient

from api.services import api_token_create
from tests.governance.city import City


def token_for(user, scopes: Iterable[str] = ("read", "draft", "submit"), days: int = 30) -> str:  # noqa: ANN001
    """Returns the secret text of a new token of `user`."""
    return api_token_create(user=user, name="Test system", scopes=scopes, expires_in_days=days).secret


def client_with(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def png_upload(name: str = "pool.png", colour: tuple[int, int, int] = (20, 120, 200)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = name
    return buffer


@pytest.fixture
def city(db: None) -> City:
    return City()
