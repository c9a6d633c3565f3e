"""Validation messages in Simplified Chinese, for the API and the importers alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Pydantic's error types in Simplified Chinese; {ctx keys} are filled from the error context.
_MESSAGES = {
    "missing": "必填",
    "string_too_short": "至少{min_length}个字符",
    "string_too_long": "不能超过{max_length}个字符",
    "string_type": "应为文本",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "bool_type": "应为是或否",
    "greater_than": "必须大于{gt}",
    "greater_than_equal": "不能小于{ge}",
    "less_than": "必须小于{lt}",
    "less_than_equal": "不能大于{le}",
    "enum": "取值无效，可选：{expected}",
    "literal_error": "取值无效，可选：{expected}",
    "too_long": "最多{max_length}项",
    "too_short": "至少{min_length}项",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "JSON 格式错误",
    "datetime_parsing": "日期时间格式不正确",
    "date_parsing": "日期格式不正确",
    "extra_forbidden": "不支持的字段",
}


def _field_message(err: Mapping[str, Any]) -> str:
    if err["type"] == "string_too_short" and not str(err.get("input", "")).strip():
        return "必填"
    if err["type"] == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    template = _MESSAGES.get(err["type"])
    if template is None:
        return "取值无效"
    try:
        return template.format(**err.get("ctx", {}))
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：，") or "取值无效"


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header", "cookie")]
    return ".".join(parts) or "body"


def validation_fields(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in errors:
        fields.setdefault(_location(tuple(err["loc"])), _field_message(err))
    return fields


def pydantic_messages(errors: list[Any]) -> list[str]:
    """One "field: message" line per pydantic error, for row-by-row reports."""
    return [f"{field}：{message}" for field, message in validation_fields(errors).items()]
