"""Persistence models of health-check bookkeeping (migration 0012), on the shared metadata.

``health_rule_hits`` counts findings per Beijing day, rule, code and mode (shadow rules are
only counted: this is how a rule is watched on real traffic before it is enforced).
``stock_levels`` is the stock snapshot the stock rule reads until an inventory service exists,
loaded by ``orderbot stock load FILE.csv``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class HealthRuleHitRow(SQLModel, table=True):
    __tablename__ = "health_rule_hits"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    rule: str = Field(sa_column=Column(String(80), primary_key=True))
    code: str = Field(sa_column=Column(String(40), primary_key=True))
    mode: str = Field(sa_column=Column(String(16), primary_key=True))
    hits: int = Field(sa_column=Column(BigInteger, nullable=False))


class StockLevelRow(SQLModel, table=True):
    __tablename__ = "stock_levels"

    sku: str = Field(sa_column=Column(String(128), primary_key=True))
    available: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
