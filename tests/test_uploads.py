"""Photo uploads: real images in, clean WebP variants out; everything else refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from farmgate.catalog.service import MAX_PHOTOS
from farmgate.config import settings
from farmgate.models import ProductPhoto, Role
from tests import factories as f


def jpeg_with_gps(size: tuple[int, int] = (1600, 1200), orientation: int | None = None) -> bytes:
    img = Image.new("RGB", size, (200, 40, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (27.0, 58.0, 12.0), "E", (110.0, 11.0, 30.0)
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid 1x1 PNG whose header then claims a gigantic canvas (CRC fixed up)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.fixture
def owned(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    other = f.create_cooperative(session, township, name="别人的合作社")
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    other_staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=other)
    product = f.create_product(session, staff, f.first_village(session, township))
    session.commit()
    return {
        "product": product.id,
        "mine": f.auth_headers(session, staff),
        "theirs": f.auth_headers(session, other_staff),
    }


def _upload(client, owned, data: bytes, name: str = "photo.jpg", who: str = "mine"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/my/products/{owned['product']}/photos",
        files={"file": (name, data, "image/jpeg")},
        headers=owned[who],
    )


def test_a_phone_photo_becomes_clean_webp_variants(client, owned, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, jpeg_with_gps())
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (1600, 1200)
    assert sorted(int(w) for w in body["urls"]) == [320, 640, 1280]
    files = sorted(media_dir.rglob("*.webp"))
    assert len(files) == 3
    for path in files:
        with Image.open(path) as img:
            assert img.format == "WEBP"
            assert not img.getexif()  # no EXIF, so no GPS position of the farm
            assert "exif" not in img.info
            assert img.width <= 1280
    assert body["urls"]["640"].startswith(settings.media_url_path + "/products/")


def test_small_images_are_never_upscaled(client, owned, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, jpeg_with_gps((500, 300)))
    assert response.status_code == 201
    widths = sorted(Image.open(p).width for p in media_dir.rglob("*.webp"))
    assert widths == [320, 500]


def test_the_phones_rotation_is_applied(client, owned) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, jpeg_with_gps((800, 600), orientation=6))  # rotated 90°
    assert (response.json()["width"], response.json()["height"]) == (600, 800)


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"just some text, renamed\n" * 10, "photo.jpg", "not_an_image"),
        (b"", "empty.png", "empty_file"),
        (jpeg_with_gps()[:400], "cut.jpg", "not_an_image"),
    ],
)
def test_non_images_are_refused(
    client, owned, media_dir: Path, data: bytes, name: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, data, name)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert list(media_dir.rglob("*")) == []


def test_a_gif_is_not_accepted(client, owned) -> None:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    response = _upload(client, owned, out.getvalue(), "a.gif")
    assert response.status_code == 422 and response.json()["error"]["code"] == "unsupported_image"


def test_a_decompression_bomb_is_refused_without_decoding(client, owned, media_dir: Path) -> None:  # type: ignore[no-untyped-def]
    bomb = png_bomb()
    assert len(bomb) < 200
    response = _upload(client, owned, bomb, "bomb.png")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "image_too_large"
    assert list(media_dir.rglob("*")) == []


def test_oversized_files_are_refused(client, owned, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "max_upload_bytes", 2048)
    response = _upload(client, owned, jpeg_with_gps())
    assert response.status_code == 422 and response.json()["error"]["code"] == "file_too_large"


def test_another_cooperative_cannot_upload_and_nothing_is_written(
    client, owned, session: Session, media_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    response = _upload(client, owned, jpeg_with_gps(), who="theirs")
    assert response.status_code == 404
    assert list(media_dir.rglob("*")) == []
    assert session.query(ProductPhoto).count() == 0


def test_photo_count_is_limited(client, owned) -> None:  # type: ignore[no-untyped-def]
    small = jpeg_with_gps((64, 48))
    for _ in range(MAX_PHOTOS):
        assert _upload(client, owned, small).status_code == 201
    response = _upload(client, owned, small)
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_many_photos"
