"""Photo uploads: real images in, clean WebP variants out; everything else refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile
from sqlalchemy.orm import Session

from farmgate.catalog.service import MAX_PHOTOS
from farmgate.config import settings
from farmgate.errors import ValidationFailed
from farmgate.media.images import process_upload
from farmgate.models import ProductPhoto, Role
from tests.support import factories as f

GPS_IFD = 0x8825
ORIENTATION = 0x0112
RED, BLUE = (220, 30, 30), (30, 30, 220)


def jpeg_with_gps(
    size: tuple[int, int] = (1600, 1200), orientation: int | None = None, *, fmt: str = "JPEG"
) -> bytes:
    """A phone-like JPEG: maker, GPS position of the farm and optionally a rotation.

    The top-left quarter is blue, the rest red, so where it ends up shows the rotation.
    """
    img = Image.new("RGB", size, RED)
    img.paste(BLUE, (0, 0, size[0] // 2, size[1] // 2))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (27.0, 58.0, 12.0)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (110.0, 11.0, 30.0)  # GPSLongitudeRef, GPSLongitude
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    if fmt == "MPO":  # a JPEG with a second (preview/depth) frame, as many phones write
        img.save(out, "MPO", exif=exif.tobytes(), save_all=True, append_images=[img.copy()])
    else:
        img.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def encoded(fmt: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt)
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid 1x1 PNG whose header then claims a gigantic canvas (CRC fixed up)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = 8 + 8  # signature, then length + "IHDR"
    assert data[12:16] == b"IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))  # chunk type + 13 data bytes
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The stable error shape: {"error": {"code", "message", "fields"}}, message in Chinese."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["fields"], dict)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"])
    return body["error"]


def stored_files(media_dir: Path) -> list[Path]:
    """Every file under the media dir, temporary ones included."""
    return sorted(p for p in media_dir.rglob("*") if p.is_file())


@pytest.fixture
def owned(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    other = f.create_cooperative(session, township, name="别人的合作社")
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    other_staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=other)
    consumer = f.create_account(session)
    product = f.create_product(session, staff, f.first_village(session, township))
    session.commit()
    return {
        "product": product.id,
        "mine": f.auth_headers(session, staff),
        "theirs": f.auth_headers(session, other_staff),
        "consumer": f.auth_headers(session, consumer),
        "nobody": {},
    }


def _upload(  # type: ignore[no-untyped-def]
    client, owned, data: bytes, name: str = "photo.jpg", who: str = "mine", product=None
):
    return client.post(
        f"/api/v1/my/products/{product or owned['product']}/photos",
        files={"file": (name, data, "image/jpeg")},
        headers=owned[who],
    )


def _photo_count(session: Session) -> int:
    session.expire_all()
    return session.query(ProductPhoto).count()


# --- accepted photos --------------------------------------------------------------------


def test_the_test_photo_really_carries_exif_with_gps() -> None:
    with Image.open(io.BytesIO(jpeg_with_gps())) as img:
        exif = img.getexif()
        assert img.format == "JPEG" and "exif" in img.info
        assert exif[0x010F] == "PhoneMaker"
        gps = exif.get_ifd(GPS_IFD)
        assert gps[1] == "N" and gps[3] == "E" and float(gps[2][0]) == 27.0


def test_a_phone_photo_becomes_clean_webp_variants(  # type: ignore[no-untyped-def]
    client, owned, session: Session, media_dir: Path
) -> None:
    response = _upload(client, owned, jpeg_with_gps())
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"], body["position"]) == (1600, 1200, 0)
    assert sorted(int(w) for w in body["urls"]) == [320, 640, 1280]

    files = stored_files(media_dir)
    assert len(files) == 3  # the variants only: no original, no leftover temporary file
    for width, url in body["urls"].items():
        assert url.startswith(settings.media_url_path + "/products/")
        path = media_dir / url.removeprefix(settings.media_url_path + "/")
        assert path in files and path.suffix == ".webp"
        raw = path.read_bytes()
        assert raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"
        assert b"EXIF" not in raw and b"PhoneMaker" not in raw
        with Image.open(path) as img:
            assert img.format == "WEBP"
            assert (img.width, img.height) == (int(width), int(width) * 3 // 4)
            assert not img.getexif()  # no EXIF, so no GPS position of the farm
            assert "exif" not in img.info and "xmp" not in img.info
            img.load()  # decodes completely

    photo = session.get(ProductPhoto, body["id"])
    assert photo is not None and photo.product_id == owned["product"]
    assert (photo.width, photo.height, photo.widths) == (1600, 1200, "320,640,1280")

    # The app serves the variants at their URL, and the product shows the photo.
    served = client.get(body["urls"]["320"])
    assert served.status_code == 200 and served.content[8:12] == b"WEBP"
    product = client.get(f"/api/v1/my/products/{owned['product']}", headers=owned["mine"])
    assert [p["id"] for p in product.json()["photos"]] == [body["id"]]


@pytest.mark.parametrize(
    ("size", "keys", "widths"),
    [
        ((500, 300), [320, 640], [320, 500]),  # the 640 slot holds the original width
        ((640, 480), [320, 640], [320, 640]),
        ((200, 100), [320], [200]),  # smaller than every size: kept as it is
        ((2400, 600), [320, 640, 1280], [320, 640, 1280]),
    ],
)
def test_images_are_never_upscaled(  # type: ignore[no-untyped-def]
    client, owned, media_dir: Path, size, keys, widths
) -> None:
    response = _upload(client, owned, jpeg_with_gps(size))
    assert response.status_code == 201, response.text
    assert sorted(int(w) for w in response.json()["urls"]) == keys
    got = []
    for path in stored_files(media_dir):
        with Image.open(path) as img:
            assert img.width <= size[0] and img.height <= size[1]
            assert abs(img.width / img.height - size[0] / size[1]) < 0.02
            got.append(img.width)
    assert sorted(got) == widths


def _blue_corner(path: Path) -> str:
    """Which corner the blue quarter of jpeg_with_gps() ended up in."""
    with Image.open(path) as img:
        rgb = img.convert("RGB")
    w, h = rgb.size
    corners = {
        "top-left": (w // 8, h // 8),
        "top-right": (w - w // 8, h // 8),
        "bottom-left": (w // 8, h - h // 8),
        "bottom-right": (w - w // 8, h - h // 8),
    }
    blue = [
        name
        for name, xy in corners.items()
        if (px := rgb.getpixel(xy))[2] > 150 and px[0] < 100  # type: ignore[index]
    ]
    assert len(blue) == 1, blue
    return blue[0]


@pytest.mark.parametrize(
    ("orientation", "size", "corner"),
    [
        (None, (800, 600), "top-left"),
        (1, (800, 600), "top-left"),
        (2, (800, 600), "top-right"),  # mirrored
        (3, (800, 600), "bottom-right"),  # upside down
        (6, (600, 800), "top-right"),  # phone held upright: a quarter turn clockwise
        (8, (600, 800), "bottom-left"),  # a quarter turn the other way
    ],
)
def test_the_phones_rotation_is_applied(  # type: ignore[no-untyped-def]
    client, owned, media_dir: Path, orientation, size, corner
) -> None:
    response = _upload(client, owned, jpeg_with_gps((800, 600), orientation=orientation))
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == size
    files = stored_files(media_dir)
    assert len(files) == (3 if size[0] > 640 else 2)  # 320, 640 (and 1280) wide
    for path in files:
        with Image.open(path) as img:
            assert (img.width > img.height) == (size[0] > size[1])
            assert not img.getexif()  # the orientation tag is gone too: applied, not kept
        assert _blue_corner(path) == corner


def test_a_jpeg_with_a_preview_frame_mpo_is_accepted(client, owned, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    data = jpeg_with_gps((800, 600), orientation=6, fmt="MPO")
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.format == "MPO" and getattr(probe, "n_frames", 1) == 2
    response = _upload(client, owned, data)
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (600, 800)
    for path in stored_files(media_dir):
        with Image.open(path) as img:
            assert img.format == "WEBP" and not img.getexif()


def test_a_photo_with_malformed_exif_is_still_accepted(client, owned, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Editing apps write broken EXIF; it is dropped anyway, so it must not fail the upload."""
    data = jpeg_with_gps((800, 600), orientation=6)
    # Relabel the GPS latitude (3 rationals) as GPSDestDistanceRef (0x19), an ASCII tag:
    # Pillow reads it, but cannot write it back.
    entry = b"\x00\x02\x00\x05\x00\x00\x00\x03"
    assert data.count(entry) == 1
    data = data.replace(entry, b"\x00\x19" + entry[2:])
    with Image.open(io.BytesIO(data)) as probe:
        assert 0x19 in probe.getexif().get_ifd(GPS_IFD)
    response = _upload(client, owned, data)
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (600, 800)
    for path in stored_files(media_dir):
        with Image.open(path) as img:
            assert not img.getexif() and "exif" not in img.info


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGBA"), ("PNG", "P"), ("WEBP", "RGB")])
def test_png_and_webp_are_accepted(client, owned, media_dir: Path, fmt, mode) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, encoded(fmt, (400, 300), mode), name="photo.bin")
    assert response.status_code == 201, response.text
    assert len(stored_files(media_dir)) == 2  # 320 and the original 400


# --- refused uploads --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"just some text, renamed\n" * 10, "photo.jpg", "not_an_image"),
        (b"%PDF-1.4\n1 0 obj << >> endobj\n", "photo.jpg", "not_an_image"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
            "a.jpg",
            "not_an_image",
        ),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "header-only.jpg", "not_an_image"),
        (b"", "empty.png", "empty_file"),
        (jpeg_with_gps()[:400], "cut.jpg", "not_an_image"),
    ],
)
def test_non_images_are_refused(  # type: ignore[no-untyped-def]
    client, owned, session: Session, media_dir: Path, data: bytes, name: str, code: str
) -> None:
    error = assert_error(_upload(client, owned, data, name), 422, code)
    assert "file" in error["fields"]
    assert stored_files(media_dir) == []
    assert _photo_count(session) == 0


def test_a_text_file_renamed_photo_jpg_gives_the_stable_error(client, owned) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, "这不是图片，只是改了名字的文本\n".encode() * 20)
    error = assert_error(response, 422, "not_an_image")
    assert error == {
        "code": "not_an_image",
        "message": "文件不是有效的图片",
        "fields": {"file": "文件不是有效的图片"},
    }


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_not_accepted(client, owned, media_dir: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, encoded(fmt), f"a.{fmt.lower()}")
    error = assert_error(response, 422, "unsupported_image")
    assert "JPEG" in error["message"]
    assert stored_files(media_dir) == []


def test_a_decompression_bomb_is_refused_without_decoding(  # type: ignore[no-untyped-def]
    client, owned, session: Session, media_dir: Path
) -> None:
    bomb = png_bomb()
    assert len(bomb) < 200
    assert struct.unpack(">II", bomb[16:24]) == (100_000, 100_000)  # a 10-gigapixel canvas
    error = assert_error(_upload(client, owned, bomb, "bomb.png"), 422, "image_too_large")
    assert error["fields"] == {"file": error["message"]}
    assert stored_files(media_dir) == []
    assert _photo_count(session) == 0


@pytest.mark.parametrize(
    "size",
    [
        (100_000, 100_000),  # past twice the budget: Pillow's own DecompressionBombError
        (7_000, 7_000),  # 49 Mpx: past the 40 Mpx budget, within Pillow's warning band
        (40_000, 1_001),  # just past the budget
    ],
)
def test_bombs_never_allocate_their_pixels(monkeypatch: pytest.MonkeyPatch, size) -> None:  # type: ignore[no-untyped-def]
    assert size[0] * size[1] > settings.max_image_pixels
    loads: list[object] = []
    canvases: list[tuple[int, int]] = []
    real_load, real_new = ImageFile.ImageFile.load, Image.core.new
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: loads.append(self) or real_load(self)
    )
    # Where Pillow allocates an image's pixel memory (C allocations tracemalloc cannot see).
    monkeypatch.setattr(
        Image.core, "new", lambda mode, sz, *a: canvases.append(sz) or real_new(mode, sz, *a)
    )
    with pytest.raises(ValidationFailed) as caught:
        process_upload(png_bomb(*size))
    assert caught.value.code == "image_too_large"
    assert loads == []  # the pixel data was never decoded...
    assert canvases == []  # ...nor its canvas allocated


def test_the_pixel_budget_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    data = jpeg_with_gps((200, 100))
    monkeypatch.setattr(settings, "max_image_pixels", 10_000)
    with pytest.raises(ValidationFailed) as caught:
        process_upload(data)
    assert caught.value.code == "image_too_large"
    monkeypatch.setattr(settings, "max_image_pixels", 20_000)
    assert process_upload(data).width == 200


def test_oversized_files_are_refused(  # type: ignore[no-untyped-def]
    client, owned, session: Session, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = jpeg_with_gps()
    monkeypatch.setattr(settings, "max_upload_bytes", len(data) - 1)
    error = assert_error(_upload(client, owned, data), 422, "file_too_large")
    assert "file" in error["fields"]
    assert stored_files(media_dir) == [] and _photo_count(session) == 0
    monkeypatch.setattr(settings, "max_upload_bytes", len(data))  # exactly the limit is fine
    assert _upload(client, owned, data).status_code == 201


def test_process_upload_checks_the_size_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Callers other than the endpoint (the demo seed) get the same limit."""
    data = jpeg_with_gps((64, 48))
    monkeypatch.setattr(settings, "max_upload_bytes", len(data) - 1)
    with pytest.raises(ValidationFailed) as caught:
        process_upload(data)
    assert caught.value.code == "file_too_large"


# --- who may upload, and how many -------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("theirs", 404), ("consumer", 403), ("nobody", 401)])
def test_only_the_owning_cooperative_can_upload_and_nothing_is_written(  # type: ignore[no-untyped-def]
    client, owned, session: Session, media_dir: Path, who: str, status: int
) -> None:
    response = _upload(client, owned, jpeg_with_gps((64, 48)), who=who)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert stored_files(media_dir) == []
    assert _photo_count(session) == 0


def test_an_unknown_product_is_not_found(client, owned, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, jpeg_with_gps((64, 48)), product=owned["product"] + 999)
    assert_error(response, 404, "not_found")
    assert stored_files(media_dir) == []


def test_the_field_must_be_called_file(client, owned, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/v1/my/products/{owned['product']}/photos",
        files={"photo": ("p.jpg", jpeg_with_gps((64, 48)), "image/jpeg")},
        headers=owned["mine"],
    )
    assert response.status_code == 422
    assert "file" in response.json()["error"]["fields"]
    assert stored_files(media_dir) == []


def test_photo_count_is_limited(client, owned, session: Session, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    small = jpeg_with_gps((64, 48))
    positions = []
    for _ in range(MAX_PHOTOS):
        response = _upload(client, owned, small)
        assert response.status_code == 201
        positions.append(response.json()["position"])
    assert positions == list(range(MAX_PHOTOS))
    assert MAX_PHOTOS == 9

    error = assert_error(_upload(client, owned, small), 422, "too_many_photos")
    assert str(MAX_PHOTOS) in error["message"]
    assert _photo_count(session) == MAX_PHOTOS
    assert len(stored_files(media_dir)) == MAX_PHOTOS  # one variant each; the 10th wrote none

    # Deleting one makes room again.
    photo_id = session.query(ProductPhoto).order_by(ProductPhoto.id).first().id  # type: ignore[union-attr]
    url = f"/api/v1/my/products/{owned['product']}/photos/{photo_id}"
    assert client.delete(url, headers=owned["theirs"]).status_code == 404
    assert client.delete(url, headers=owned["mine"]).status_code == 204
    assert _upload(client, owned, small).status_code == 201
    assert _photo_count(session) == MAX_PHOTOS


# --- bounded decoding (issue 15, item 13) -------------------------------------------------


def _track_decoding(monkeypatch: pytest.MonkeyPatch) -> tuple[list[object], list[tuple[int, int]]]:
    loads: list[object] = []
    canvases: list[tuple[int, int]] = []
    real_load, real_new = ImageFile.ImageFile.load, Image.core.new
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: loads.append(self) or real_load(self)
    )
    monkeypatch.setattr(
        Image.core, "new", lambda mode, sz, *a: canvases.append(sz) or real_new(mode, sz, *a)
    )
    return loads, canvases


@pytest.fixture(scope="module")
def png_40mp() -> bytes:
    """A real (not header-faked) 40 Mpx PNG that compresses to a few hundred KB."""
    out = io.BytesIO()
    Image.new("RGB", (8000, 5000), RED).save(out, "PNG")
    return out.getvalue()


def test_a_40_megapixel_png_is_refused_before_decoding(  # type: ignore[no-untyped-def]
    png_40mp: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    assert len(png_40mp) < 400_000
    assert 8000 * 5000 <= settings.max_image_pixels  # within the JPEG limit
    loads, canvases = _track_decoding(monkeypatch)
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as caught:
        process_upload(png_40mp)
    assert time.perf_counter() - started < 0.5
    assert caught.value.code == "image_too_large"
    assert loads == [] and canvases == []


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    data = jpeg_with_gps((6000, 4000))
    loads, canvases = _track_decoding(monkeypatch)
    processed = process_upload(data)
    assert loads  # decoded...
    assert max(w * h for w, h in canvases) <= 3000 * 2000  # ...at half size, not 24 Mpx
    assert processed.width >= max(settings.image_widths)
    assert set(processed.variants) == set(settings.image_widths)


def test_the_handoff_photo_path_is_rate_limited(client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from farmgate.ops import ratelimit

    path = "/api/v1/shipments/1/handoffs/1/photo"
    rule = ratelimit.rule_for("POST", path)
    assert rule is not None and rule.name == "upload"
    monkeypatch.setattr(settings, "rate_limits", True)
    monkeypatch.setattr(settings, "redis_url", None)
    monkeypatch.setattr(ratelimit, "limiter", ratelimit.Limiter())
    monkeypatch.setattr(ratelimit, "WINDOW", 3600)
    answers = [
        client.post(path, files={"file": ("p.jpg", b"x", "image/jpeg")}).status_code
        for _ in range(rule.per_ip)
    ]
    assert 429 not in answers
    assert client.post(path, files={"file": ("p.jpg", b"x", "image/jpeg")}).status_code == 429


def test_decoded_pixels_are_budgeted_per_client(  # type: ignore[no-untyped-def]
    client, owned, session: Session, monkeypatch: pytest.MonkeyPatch, media_dir: Path
) -> None:
    from farmgate.ops import ratelimit

    monkeypatch.setattr(settings, "rate_limits", True)
    monkeypatch.setattr(ratelimit, "decode_pixels", ratelimit.TokenBucket())
    monkeypatch.setattr(settings, "max_image_pixels", 2_000_000)  # the burst: one photo
    monkeypatch.setattr(settings, "image_pixels_per_second", 10_000)
    photo = jpeg_with_gps((1600, 1200))  # 1.92 Mpx, too small to be decoded scaled down
    assert _upload(client, owned, photo).status_code == 201
    files_before = stored_files(media_dir)
    refused = assert_error(_upload(client, owned, photo), 429, "rate_limited")
    assert "秒后再试" in refused["message"]
    assert stored_files(media_dir) == files_before
    # Another client (session or address) has its own budget.
    token = ratelimit.current_client.set("ip:203.0.113.9")
    try:
        assert ratelimit.spend_decoded_pixels(1_920_000) is None
        assert ratelimit.spend_decoded_pixels(1_920_000) is not None
    finally:
        ratelimit.current_client.reset(token)
    assert ratelimit.spend_decoded_pixels(10**9) is None  # outside a request: jobs, CLI
