from __future__ import annotations

from sqlmodel import Field, SQLModel


class Township(SQLModel, table=True):
    """A township (乡/镇): the unit the platform serves. Identified by its 9-digit code."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True, description="统计用区划代码, e.g. 431223222")
    name: str = Field(max_length=50)
    county: str = Field(max_length=50)
    city: str = Field(max_length=50)
    province: str = Field(max_length=50)


class Village(SQLModel, table=True):
    """A village committee (村委会) inside a township."""

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    name: str = Field(max_length=50)
    code: str | None = Field(default=None, max_length=15)
