"""An MP4 upload is read as a container (mutagen), not only sniffed by its `ftyp` box: a file no player can
open is refused in plain words and nothing is stored. The good file is a real one-second H.264 MP4
(tests/medialibrary/fixtures/tiny-h264.mp4); each bad one is made from it."""

from __future__ import annotations

import struct

import pytest
from django.core.files.storage import default_storage

from civicpost.exceptions import ApplicationError
from medialibrary import services
from medialibrary.models import MediaAsset, MediaKind
from tests.medialibrary.helpers import TINY_MP4, box, boxes, mp4_bytes, upload


def _upload_video(personas, data: bytes) -> MediaAsset:
    return services.media_upload(
        user=personas.alice,
        department=personas.parks,
        upload=upload("council.mp4", data, "video/mp4"),
        transcript="Mayor: Welcome.",
    )


def _refused(personas, data: bytes, message: str) -> None:
    with pytest.raises(ApplicationError, match=message):
        _upload_video(personas, data)
    assert not MediaAsset.objects.exists()


def _moov_children(data: bytes) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    top = boxes(data)
    moov = next(whole for box_type, whole in top if box_type == b"moov")
    return top, boxes(moov[8:])


def _fast_start(data: bytes) -> bytes:
    """The same movie with its moov before the mdat (as "fast start" exports write it), chunk offsets moved."""
    top, _children = _moov_children(data)
    parts = dict(top)
    moov = bytearray(parts[b"moov"])
    at = moov.index(b"stco") + 4 + 4  # past the type, version and flags
    (count,) = struct.unpack_from(">I", moov, at)
    for index in range(count):
        (offset,) = struct.unpack_from(">I", moov, at + 4 + 4 * index)
        struct.pack_into(">I", moov, at + 4 + 4 * index, offset + len(moov))
    return parts[b"ftyp"] + parts[b"free"] + bytes(moov) + parts[b"mdat"]


def test_a_real_mp4_is_accepted(personas):
    asset = _upload_video(personas, TINY_MP4.read_bytes())

    assert (asset.kind, asset.mime_type) == (MediaKind.VIDEO, "video/mp4")
    assert default_storage.exists(asset.file_name)


def test_a_fast_start_mp4_is_accepted(personas):
    asset = _upload_video(personas, _fast_start(mp4_bytes()))

    assert asset.kind == MediaKind.VIDEO


def test_an_ftyp_box_followed_by_garbage_is_refused(personas):
    ftyp = boxes(TINY_MP4.read_bytes())[0][1]
    garbage = bytes((index * 37 + 11) % 251 for index in range(4096))

    _refused(personas, ftyp + garbage, "damaged or incomplete|no movie header")
    # Garbage that happens to split into well-formed boxes was stored and served before.
    _refused(personas, ftyp + box(b"junk", garbage) + box(b"mdat", garbage), "no movie header")


def test_an_ftyp_box_alone_is_refused_for_having_no_movie_header(personas):
    ftyp = boxes(TINY_MP4.read_bytes())[0][1]

    _refused(personas, ftyp + box(b"mdat", b"\x00" * 512), "has no movie header, so no player can open it")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_a_truncated_mp4_is_refused(personas, keep):
    data = mp4_bytes()

    _refused(personas, data[: int(len(data) * keep)], "damaged or incomplete|no movie header")


def test_a_fast_start_mp4_cut_off_in_its_media_data_is_refused(personas):
    data = _fast_start(mp4_bytes())
    mdat = data.index(b"mdat") - 4
    cut = data[: mdat + 200]
    # The mdat box claims its full size; a tool that trims it to the bytes present still leaves samples missing.
    trimmed = cut[:mdat] + struct.pack(">I", 200) + cut[mdat + 4 :]

    _refused(personas, cut, "damaged or incomplete")
    _refused(personas, trimmed, "part of the video is missing")


def test_an_mp4_without_a_video_track_is_refused(personas):
    top, children = _moov_children(mp4_bytes())
    moov = box(b"moov", b"".join(whole for box_type, whole in children if box_type != b"trak"))
    data = b"".join(moov if box_type == b"moov" else whole for box_type, whole in top)

    _refused(personas, data, "has no video in it")


def test_an_mp4_of_zero_length_is_refused(personas):
    top, children = _moov_children(mp4_bytes())
    mvhd = bytearray(dict(children)[b"mvhd"])
    struct.pack_into(">I", mvhd, 8 + 16, 0)  # version 0: version/flags, created, modified, timescale, duration
    moov = box(b"moov", b"".join(bytes(mvhd) if box_type == b"mvhd" else whole for box_type, whole in children))
    data = b"".join(moov if box_type == b"moov" else whole for box_type, whole in top)

    _refused(personas, data, "zero seconds long")
