"""Shipping fees, quoted before the order: per cooperative parcel, from the cooperative's rules
(or its township's default, or the built-in sample of the post office's EMS/邮政 tiers).

A parcel's fee: the destination province's zone, the weight band holding the parcel's weight
(the SKUs' ``weight_g`` times quantities; above the last band each started kilogram costs the
zone's ``extra_kg_fen``), plus the chilled or frozen surcharge when any product in the parcel
needs it. Free shipping over ``free_over_fen`` (the parcel's goods) waives the base fee only;
the cold-chain surcharge is still charged. Township delivery within the county costs
``local_fen`` (chilled or not); pickup is free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.errors import ValidationFailed
from farmgate.models import (
    Account,
    Cooperative,
    DeliveryMethod,
    Product,
    ShippingRule,
    Sku,
    StorageClass,
)


class Band(BaseModel):
    from_g: int = Field(ge=0)
    to_g: int = Field(gt=0, le=100_000)
    fen: int = Field(ge=0, le=1_000_000)


class Zone(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    provinces: list[str] = Field(default_factory=list)  # empty: every province not named elsewhere
    bands: list[Band]
    extra_kg_fen: int = Field(default=0, ge=0, le=1_000_000)


class Rules(BaseModel):
    zones: list[Zone]
    chilled_fen: int = Field(default=0, ge=0, le=1_000_000)
    frozen_fen: int = Field(default=0, ge=0, le=1_000_000)
    free_over_fen: int | None = Field(default=None, ge=0)
    local_fen: int = Field(default=0, ge=0, le=1_000_000)
    sample: bool = False  # the built-in example figures, not a real price list


def _bands(*rows: tuple[int, int, int]) -> list[Band]:
    return [Band(from_g=a, to_g=b, fen=f) for a, b, f in rows]


# SAMPLE FIGURES, for the demo only: shaped like the post office's EMS/邮政 parcel tiers
# (first kilogram, then bands), not its published price list. A township replaces them.
# In-province parcels up to 3 kg cost what the old flat fee did (10 yuan, 25 chilled/frozen).
DEFAULT_RULES = Rules(
    sample=True,
    zones=[
        Zone(
            name="省内",
            provinces=["湖南"],
            bands=_bands((0, 3000, 1000), (3000, 5000, 1300)),
            extra_kg_fen=200,
        ),
        Zone(
            name="邻近省份",
            provinces=["广东", "广西", "湖北", "江西", "贵州", "重庆"],
            bands=_bands((0, 1000, 1200), (1000, 3000, 1800), (3000, 5000, 2400)),
            extra_kg_fen=500,
        ),
        Zone(
            name="其他地区",
            provinces=[],
            bands=_bands((0, 1000, 1800), (1000, 3000, 2800), (3000, 5000, 3800)),
            extra_kg_fen=800,
        ),
    ],
    chilled_fen=1500,
    frozen_fen=1500,
    free_over_fen=None,
    local_fen=500,
)

_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")


def province_key(name: str) -> str:
    """``广东省`` -> ``广东``, ``广西壮族自治区`` -> ``广西``, ``重庆市`` -> ``重庆``."""
    text = (name or "").strip()
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def check(rules: Rules) -> dict[str, str]:
    """Field messages (keys ``zone{i}_bands``, ``zone{i}_provinces``) for bands that overlap or
    leave a gap, a province in two zones, or more than one catch-all zone. Empty when fine."""
    errors: dict[str, str] = {}
    seen: dict[str, str] = {}
    catch_all = 0
    if not rules.zones:
        errors["zones"] = "至少要有一个地区"
    for i, zone in enumerate(rules.zones):
        end = 0
        for band in sorted(zone.bands, key=lambda b: (b.from_g, b.to_g)):
            if band.to_g <= band.from_g:
                errors[f"zone{i}_bands"] = f"{band.from_g}–{band.to_g}克：结束重量要大于起始重量"
                break
            if band.from_g < end:
                errors[f"zone{i}_bands"] = (
                    f"重量段重叠：{band.from_g}克起的一段与前一段（到{end}克）重叠"
                )
                break
            if band.from_g > end:
                errors[f"zone{i}_bands"] = f"重量段有空档：{end}克到{band.from_g}克没有运费"
                break
            end = band.to_g
        if not zone.bands:
            errors[f"zone{i}_bands"] = "请至少填一个重量段，如 0-1000 8"
        if not zone.provinces:
            catch_all += 1
            if catch_all > 1:
                errors[f"zone{i}_provinces"] = "只能有一个地区留空（表示其他所有省份）"
        for p in zone.provinces:
            key = province_key(p)
            if key in seen and seen[key] != zone.name:
                errors[f"zone{i}_provinces"] = f"{p}已在「{seen[key]}」里"
            seen[key] = zone.name
    return errors


def _zone_for(rules: Rules, province: str) -> Zone | None:
    key = province_key(province)
    for zone in rules.zones:
        if key in {province_key(p) for p in zone.provinces}:
            return zone
    return next((z for z in rules.zones if not z.provinces), None)


@dataclass(frozen=True)
class ParcelQuote:
    cooperative_id: int
    weight_g: int
    items_fen: int
    zone: str
    base_fen: int
    cold_fen: int
    fen: int
    storage: str  # ambient / chilled / frozen (the coldest in the parcel)
    free: bool  # base fee waived by free shipping over an amount
    note: str  # what the fee is, in words for the buyer


def quote_parcel(
    rules: Rules,
    *,
    cooperative_id: int,
    method: DeliveryMethod | str,
    province: str,
    weight_g: int,
    items_fen: int,
    storages: Iterable[StorageClass | str],
) -> ParcelQuote:
    kinds = {str(s) for s in storages}
    storage = "frozen" if "frozen" in kinds else "chilled" if "chilled" in kinds else "ambient"
    common = {"cooperative_id": cooperative_id, "weight_g": weight_g, "items_fen": items_fen}
    if method == DeliveryMethod.PICKUP:
        return ParcelQuote(**common, zone="自提", base_fen=0, cold_fen=0, fen=0,
                           storage=storage, free=False, note="自提，无运费")  # fmt: skip
    if method == DeliveryMethod.LOCAL:
        return ParcelQuote(**common, zone="县内", base_fen=rules.local_fen, cold_fen=0,
                           fen=rules.local_fen, storage=storage, free=False,
                           note="乡镇配送（县内）")  # fmt: skip
    zone = _zone_for(rules, province)
    if zone is None:
        raise ValidationFailed(
            f"暂不支持寄往{province or '该地区'}", fields={"province": "这个省份暂不能寄送"}
        )
    band = next((b for b in sorted(zone.bands, key=lambda b: b.from_g) if weight_g <= b.to_g), None)
    if band is not None:
        base = band.fen
    else:
        last = max(zone.bands, key=lambda b: b.to_g)
        base = last.fen + math.ceil((weight_g - last.to_g) / 1000) * zone.extra_kg_fen
    cold = {"chilled": rules.chilled_fen, "frozen": rules.frozen_fen}.get(storage, 0)
    free = rules.free_over_fen is not None and items_fen >= rules.free_over_fen
    if free:
        base = 0
    parts = [f"寄{zone.name}，{weight_g / 1000:g}公斤"]
    if free:
        parts.append("满额包邮")
    if cold:
        parts.append(f"{'冷冻' if storage == 'frozen' else '冷藏'}加收¥{cold / 100:.2f}")
    return ParcelQuote(**common, zone=zone.name, base_fen=base, cold_fen=cold, fen=base + cold,
                       storage=storage, free=free, note="，".join(parts))  # fmt: skip


# --- the rules in force ---------------------------------------------------------------


def township_default(session: Session, township_id: int) -> Rules:
    row = session.scalar(
        select(ShippingRule).where(
            col(ShippingRule.township_id) == township_id, col(ShippingRule.cooperative_id).is_(None)
        )
    )
    return Rules.model_validate(row.rules) if row else DEFAULT_RULES


def own_rules(session: Session, cooperative_id: int) -> Rules | None:
    row = session.scalar(
        select(ShippingRule).where(col(ShippingRule.cooperative_id) == cooperative_id)
    )
    return Rules.model_validate(row.rules) if row else None


# The cooperative's own rules and its township's default, as columns of a statement that
# selects Cooperative (correlated to it): a cart's or a checkout's lines carry the rules of
# their cooperative, with no statement apart.
RULE_COLUMNS = (
    select(col(ShippingRule.rules))
    .where(col(ShippingRule.cooperative_id) == Cooperative.id)
    .scalar_subquery()
    .label("own_rules"),
    select(col(ShippingRule.rules))
    .where(
        col(ShippingRule.township_id) == Cooperative.township_id,
        col(ShippingRule.cooperative_id).is_(None),
    )
    .scalar_subquery()
    .label("township_rules"),
)
_RULES_FOR = select(*RULE_COLUMNS).where(col(Cooperative.id) == bindparam("cooperative_id"))


def rules_for(session: Session, coop: Cooperative) -> Rules:
    """The cooperative's own rules, else its township's default, else the built-in sample
    (one cooperative's; a cart's lines read theirs with ``RULE_COLUMNS``)."""
    found = session.execute(_RULES_FOR, {"cooperative_id": coop.id}).first()
    return in_force(*found) if found else DEFAULT_RULES


def in_force(own: Any, township: Any) -> Rules:
    """The rules that apply, from the stored ``own`` and ``township`` rules (None: none)."""
    for stored in (own, township):
        if stored is not None:
            return Rules.model_validate(stored)
    return DEFAULT_RULES


def save(
    session: Session,
    rules: Rules,
    actor: Account | None,
    *,
    cooperative_id: int | None = None,
    township_id: int | None = None,
) -> None:
    """Store a cooperative's rules (or a township's default); refused whole when they do not
    check out, nothing changed."""
    errors = check(rules)
    if errors:
        raise ValidationFailed("运费规则有误，未保存", fields=errors)
    data = rules.model_dump()
    data["sample"] = False
    where = (
        col(ShippingRule.cooperative_id) == cooperative_id
        if cooperative_id is not None
        else (col(ShippingRule.township_id) == township_id)
        & col(ShippingRule.cooperative_id).is_(None)
    )
    row = session.scalar(select(ShippingRule).where(where))
    if row is None:
        row = ShippingRule(cooperative_id=cooperative_id, township_id=township_id)
    row.rules = data
    row.updated_at = utcnow()
    row.updated_by_account_id = actor.id if actor else None
    session.add(row)
    session.flush()


def reset(session: Session, cooperative_id: int) -> None:
    """Back to the township's default."""
    row = session.scalar(
        select(ShippingRule).where(col(ShippingRule.cooperative_id) == cooperative_id)
    )
    if row is not None:
        session.delete(row)
        session.flush()


# --- quoting a cart -------------------------------------------------------------------


def quote_rows(
    rows: Sequence[Any],
    method: DeliveryMethod | str,
    province: str,
    rules: Mapping[int, Rules],
) -> dict[int, ParcelQuote]:
    """``rows``: (quantity, Sku, Product, Cooperative) per line; one quote per cooperative,
    by ``rules``: each cooperative's rules in force (read with the rows, ``RULE_COLUMNS``)."""
    groups: dict[int, list[tuple[int, Sku, Product, Cooperative]]] = {}
    for qty, sku, product, coop in rows:
        groups.setdefault(coop.id, []).append((qty, sku, product, coop))
    quotes = {}
    for coop_id, lines in sorted(groups.items()):
        quotes[coop_id] = quote_parcel(
            rules[coop_id],
            cooperative_id=coop_id,
            method=method,
            province=province,
            weight_g=sum(q * s.weight_g for q, s, _, _ in lines),
            items_fen=sum(q * s.price_fen for q, s, _, _ in lines),
            storages=[p.storage_class for _, _, p, _ in lines],
        )
    return quotes


def quote_items(
    session: Session, items: Iterable[tuple[int, int]], method: DeliveryMethod | str, province: str
) -> dict[int, ParcelQuote]:
    """Quote (sku_id, quantity) pairs (a cart's lines, or the API's)."""
    wanted = dict(items)
    if not wanted:
        return {}
    rows = session.execute(
        select(Sku, Product, Cooperative, *RULE_COLUMNS)
        .join(Product, col(Product.id) == Sku.product_id)
        .join(Cooperative, col(Cooperative.id) == Product.cooperative_id)
        .where(col(Sku.id).in_(list(wanted)))
    ).all()
    return quote_rows(
        [(wanted[s.id or 0], s, p, c) for s, p, c, _, _ in rows],
        method,
        province,
        {pk(c): in_force(own, town) for _, _, c, own, town in rows},
    )


# --- reading the rules from a form ----------------------------------------------------


def read_fen(text: str, *, allow_empty: bool = False) -> tuple[int | None, str | None]:
    """A fee typed in yuan: 0 allowed, negative or more than two decimals refused."""
    text = (text or "").strip().replace("¥", "").replace("￥", "")
    if not text:
        return (None, None) if allow_empty else (None, "请填写金额（元），如 8 或 0")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, "金额只能填数字，如 8.5"
    if not amount.is_finite():
        return None, "金额只能填数字，如 8.5"
    if amount < 0:
        return None, "金额不能是负数"
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return None, "金额最多填到分（两位小数），如 8.50"
    if amount > 10_000:
        return None, "金额不能超过 10000 元"
    return int(amount * 100), None


def parse_bands(text: str) -> tuple[list[Band], str | None]:
    """Lines like ``0-1000 8`` (from grams, to grams, yuan)."""
    bands = []
    for n, raw in enumerate((text or "").replace("－", "-").replace("—", "-").splitlines(), 1):
        line = raw.strip().replace("克", " ").replace("元", " ").replace("，", " ")
        if not line:
            continue
        parts = line.replace("-", " ", 1).split()
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return [], f"第{n}行看不懂，请写成「起始克数-结束克数 运费元」，如 0-1000 8"
        fen, error = read_fen(parts[2])
        if error:
            return [], f"第{n}行：{error}"
        if int(parts[1]) > 100_000:
            return [], f"第{n}行：重量不能超过 100000 克"
        bands.append(Band(from_g=int(parts[0]), to_g=int(parts[1]), fen=fen or 0))
    return bands, None


def form_values(rules: Rules) -> dict[str, str]:
    """The rules as the editing form's fields (one blank zone more, to add one)."""
    values = {
        "chilled": f"{rules.chilled_fen / 100:g}",
        "frozen": f"{rules.frozen_fen / 100:g}",
        "local": f"{rules.local_fen / 100:g}",
        "free_over": "" if rules.free_over_fen is None else f"{rules.free_over_fen / 100:g}",
        "zone_count": str(len(rules.zones) + 1),
    }
    for i, z in enumerate(rules.zones):
        values[f"zone{i}_name"] = z.name
        values[f"zone{i}_provinces"] = "、".join(z.provinces)
        values[f"zone{i}_bands"] = "\n".join(
            f"{b.from_g}-{b.to_g} {b.fen / 100:g}" for b in z.bands
        )
        values[f"zone{i}_extra"] = f"{z.extra_kg_fen / 100:g}"
    return values


def from_form(values: dict[str, str]) -> tuple[Rules | None, dict[str, str]]:
    """The editing form back into rules, or the messages beside its fields."""
    errors: dict[str, str] = {}
    money: dict[str, int | None] = {}
    for key in ("chilled", "frozen", "local", "free_over"):
        money[key], error = read_fen(values.get(key, ""), allow_empty=key == "free_over")
        if error:
            errors[key] = error
    try:
        count = min(int(values.get("zone_count", "0")), 20)
    except ValueError:
        count = 0
    zones = []
    for i in range(count):
        name = (values.get(f"zone{i}_name") or "").strip()
        bands_text = values.get(f"zone{i}_bands") or ""
        if not name and not bands_text.strip():
            continue  # the blank row, left blank
        if not name or len(name) > 20:
            errors[f"zone{i}_name"] = "请填写地区名称（20字以内），如 省内"
        provinces = [
            p.strip()
            for p in (values.get(f"zone{i}_provinces") or "")
            .replace(",", "、")
            .replace("，", "、")
            .replace(" ", "、")
            .split("、")
            if p.strip()
        ]
        bands, error = parse_bands(bands_text)
        if error:
            errors[f"zone{i}_bands"] = error
        extra, error = read_fen(values.get(f"zone{i}_extra", ""), allow_empty=True)
        if error:
            errors[f"zone{i}_extra"] = error
        if not errors:
            zones.append(Zone(name=name, provinces=provinces, bands=bands, extra_kg_fen=extra or 0))
    if errors:
        return None, errors
    rules = Rules(
        zones=zones,
        chilled_fen=money["chilled"] or 0,
        frozen_fen=money["frozen"] or 0,
        local_fen=money["local"] or 0,
        free_over_fen=money["free_over"],
    )
    # The zone indexes in check()'s keys follow the kept zones; map them back to the form's.
    kept = [
        i
        for i in range(count)
        if (values.get(f"zone{i}_name") or "").strip()
        or (values.get(f"zone{i}_bands") or "").strip()
    ]
    problems = {}
    for key, message in check(rules).items():
        if key.startswith("zone") and "_" in key:
            n, rest = key[4:].split("_", 1)
            key = f"zone{kept[int(n)]}_{rest}"
        problems[key] = message
    return (None, problems) if problems else (rules, {})
