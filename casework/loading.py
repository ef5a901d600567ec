"""Rows of a Core statement made into the session's objects, as a query would leave them (issue 18).

The pages every request makes (the session and her user; the case page) read their rows with one Core statement
built once, and make the objects here: loaded, unchanged, in the identity map, without the ORM's per-statement
and per-row work (for the case page's 97 columns that work cost as much again as the statement's execution).
What the row does not carry (a deferred column, a relationship not set here) loads when first read, as after a
query.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Select, inspect
from sqlalchemy.orm import Mapper, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ColumnElement

from casework.extensions import db, read_columns


def loaded_columns(mapper: Mapper[Any]) -> list[tuple[str, ColumnElement[Any]]]:
    """Each column attribute a query loads (not deferred): its key and its column, in the mapper's order."""
    return [(prop.key, prop.columns[0]) for prop in mapper.column_attrs if not prop.deferred]


@cache
def _primary_keys(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key)


_mappers: dict[type[Any], Mapper[Any]] = {}


def _mapper(cls: type[Any]) -> Mapper[Any]:
    """``inspect(cls)``, a registry look-up on every call, kept: a class's mapper never changes (issue 18)."""
    mapper = _mappers.get(cls)
    if mapper is None:
        mapper = _mappers[cls] = inspect(cls)
    return mapper


def as_loaded[T](cls: type[T], values: dict[str, Any]) -> T:
    """The instance a query would give for this row: the one the session holds already (what it has not loaded,
    expired by a commit, filled in from the row), else a new one marked as loaded from the database."""
    mapper = _mapper(cls)
    key = mapper.identity_key_from_primary_key(tuple(values[name] for name in _primary_keys(mapper)))
    found: T | None = db.session.identity_map.get(key)
    if found is not None:
        state = inspect(found)
        for name in values.keys() - state.dict.keys() - state.committed_state.keys():  # its unloaded ones
            set_committed_value(found, name, values[name])
        return found
    instance: T = mapper.class_manager.new_instance()
    instance.__dict__.update(values)  # the instrumented attributes' own storage: no change events, no history
    make_transient_to_detached(instance)  # what is not in the row loads when first read
    return instance


def from_row[T](cls: type[T], keys: Sequence[str], values: Sequence[Any]) -> T:
    """``as_loaded`` for the values of a row (or of its part that holds ``cls``) in the order of ``keys``."""
    return as_loaded(cls, dict(zip(keys, values, strict=True)))


def load_if_unloaded(instance: object, key: str, value: object) -> None:
    """Set the relationship ``key`` as loaded with ``value``, unless the instance has it loaded already."""
    if not is_loaded(instance, key):
        set_committed_value(instance, key, value)


def is_loaded(instance: object, key: str) -> bool:
    """``key not in inspect(instance).unloaded`` for one key, without building the set of every unloaded one (a
    case has about a hundred attributes: building it was about 1 % of a case view, issue 18)."""
    state = inspect(instance)
    return key in state.dict or key in state.committed_state


@cache
def columns_of(cls: type[Any]) -> tuple[ColumnElement[Any], ...]:
    """The columns a query of ``cls`` loads, in order: a statement for ``objects`` selects these, or some of them."""
    return tuple(column for _key, column in loaded_columns(inspect(cls)))


@lru_cache(maxsize=256)
def _statement_keys(mapper: Mapper[Any], statement: Select[Any]) -> tuple[str, ...]:
    return tuple(mapper.get_property_by_column(column).key for column in statement.selected_columns)


def objects[T](cls: type[T], statement: Select[Any], parameters: dict[str, Any] | None = None, *,
               built_once: bool = False) -> list[T]:
    """``db.session.scalars`` of a query of ``cls``, for a statement of its columns (``columns_of``, or some of
    them as with ``load_only``; built once, its values bound parameters): the same objects, in the session, without
    the ORM's per-statement and per-row work. ``built_once``: as ``read_columns``."""
    keys = _statement_keys(_mapper(cls), statement)
    found = [from_row(cls, keys, row) for row in read_columns(statement, parameters, built_once=built_once)]
    db.session.add_all(found)
    return found
