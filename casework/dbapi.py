"""psycopg's cursor with a description made when read (PostgreSQL only; issue 18).

SQLAlchemy asks for ``cursor.description`` after every statement, and psycopg answers with a new ``Column`` object
per column, each reading the result's name, type and sizes. Once a statement's result columns are known (SQLAlchemy
keeps them with the compiled statement), SQLAlchemy only checks that the description is not None: the case page's
140 columns were built and thrown away on every view, about 5 % of the page. Here the description is a sequence
whose columns are made the first time one is read, from the result it was asked of.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg import Column
from psycopg.pq import ExecStatus

_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class Description(Sequence[Column]):
    """``cursor.description`` for one result: its length at once, its columns when first read. It keeps that
    result, so a column read after the cursor ran another statement still describes this one."""

    __slots__ = ("_columns", "_encoding", "adapters", "pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        # What ``psycopg.Column`` reads of a cursor, taken now.
        result = cursor.pgresult
        if result is None:  # ``Cursor.description`` makes one only for a result
            raise TypeError("a description needs the cursor's result")
        self.pgresult = result
        self.adapters = cursor.adapters
        self._encoding = cursor._encoding
        self._columns: list[Column] | None = None

    def _made(self) -> list[Column]:
        if self._columns is None:
            self._columns = [Column(self, i) for i in range(self.pgresult.nfields)]  # type: ignore[arg-type]
        return self._columns

    def __len__(self) -> int:
        return self.pgresult.nfields

    @overload
    def __getitem__(self, index: int) -> Column: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Column]: ...

    def __getitem__(self, index: int | slice) -> Column | Sequence[Column]:
        return self._made()[index]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._made())

    def __repr__(self) -> str:
        return repr(self._made())


class Cursor(psycopg.Cursor[Any]):
    """The app's PostgreSQL cursor (``connect_args={"cursor_factory": Cursor}``): psycopg's, but for
    ``description``."""

    @property
    def description(self) -> Description | None:  # type: ignore[override]
        res = self.pgresult
        if res is not None and (res.nfields or res.status in _ROWS):
            return Description(self)
        return None
