"""Persistence model of the 微信客服 (WeCom kf) message sync (migration 0013), on the shared
metadata.

``kf_cursors`` keeps, per customer-service account (``open_kfid``), the ``next_cursor`` that
``kf/sync_msg`` returned after the last page whose messages were all queued: a restarted
service continues from there instead of reading the last 3 days again and answering old
questions twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class KfCursorRow(SQLModel, table=True):
    __tablename__ = "kf_cursors"

    open_kfid: str = Field(sa_column=Column(String(128), primary_key=True))
    cursor: str = Field(sa_column=Column(String(128), nullable=False))
    synced_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
