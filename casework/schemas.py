"""One typed schema per input: the web form, the JSON body and the workbook row are read by the same class.

A domain declares its inputs in its own ``schemas.py`` as subclasses of :class:`Schema` whose fields carry
one of the markers below (``Text``, ``Choice``, ``Choices``, ``Integer``, ``Amount``, ``Day``, ``Moment``,
``Flag``); each marker holds the field's type, limits and the Vietnamese message its user reads, once. A kind
of value that two domains read (a day, a local time, money, yes or no) has its marker here, its differences
as the marker's parameters; a marker only one domain needs stays in that domain's ``schemas.py``.

``Schema.from_json`` reads an API body (types must be JSON's own: a number is not a string),
``Schema.from_form`` a submitted form (every value arrives as text). Rules across fields go in ``check``; rules
that need the database or the acting user (scope, state, budget) stay in the services, which accept only these
typed values.

Errors come back as :class:`casework.errors.ValidationError` with one list of translated messages per field,
the error body of DESIGN §4. Messages are lazy strings, translated when the input is read, in the language of
the request. The OpenAPI document takes each body's JSON Schema from ``Schema.openapi()``.

pydantic v2 rather than marshmallow: the declared fields are the class's typed attributes, so mypy checks every
service that reads them, and the JSON Schema of the API document comes from the same declaration.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Final, Self, TypeGuard, get_args

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, core_schema

from casework.errors import ValidationError
from casework.text import VN_TZ, nfc

Message = Any  # a str or a lazy string of Flask-Babel; str() translates it
FieldErrors = dict[str, list[str]]

REQUIRED = _l("This field is required.")
NOT_TEXT = _l("This field must be text.")
WRONG_TYPE = _l("This value has the wrong type.")
NOT_WHOLE = _l("Enter a whole number.")
NOT_A_DATE = _l("Enter a date like 2026-03-05.")
NOT_IN_LIST = _l("Choose a value from the list.")
CORRECT_FIELDS = _l("Please correct the marked fields.")
NOT_OBJECT = _l("This field must be an object.")
NOT_BOOLEAN = _l("This field must be true or false.")
NOT_WHOLE_JSON = _l("This field must be a whole number.")
NOT_DAY_JSON = _l("Use a date like 2026-03-05.")
NOT_DAY_FORM = _l("Enter a date like 05/03/2026.")
NOT_MOMENT_JSON = _l("Use an ISO 8601 time with its offset, like 2026-03-05T21:30:00+07:00.")
NOT_MOMENT_FORM = _l("Enter a date and time like 05/03/2026 21:30.")

# Where a value comes from, as the markers are told (``Schema._read``): a JSON body, a submitted form (text), a
# cell of a spreadsheet (``livelihood.workbook``: numbers arrive as floats).
FORM: Final = "form"
JSON: Final = "json"
ROW: Final = "row"
_DIGITS = re.compile(r"[+-]?[0-9]+")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VN_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


def invalid(message: Message) -> PydanticCustomError:
    """The error of one field, its message translated now (the request's language)."""
    return PydanticCustomError("tincay", "{message}", {"message": str(message)})


def blank(value: Any, source: str) -> bool:
    """No value: None, "", or (in a form or a workbook cell) text of spaces only."""
    return value is None or value == "" or (source != JSON and isinstance(value, str) and not value.strip())


def refuse_if_required(required: Message | None) -> None:
    """An empty field: refused with the ``required`` message when a value must be given (else it reads as None)."""
    if required is not None:
        raise invalid(required)


def json_limits(schema: dict[str, Any], **limits: int | None) -> dict[str, Any]:
    """A marker's JSON Schema: ``schema`` with each of ``limits`` that is set (``maxLength=200``, ``minItems=1``)."""
    return schema | {name: limit for name, limit in limits.items() if limit is not None}


def _source(info: core_schema.ValidationInfo) -> str:
    context = info.context or {}
    return str(context.get("source", JSON))


def multiline(value: str) -> str:
    """NFC, each line's spaces collapsed, blank lines at either end dropped; line breaks kept (notes, reasons)."""
    lines = [" ".join(line.split()) for line in unicodedata.normalize("NFC", value).replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


class _Marker:
    """A field's reading rule: validate one raw value (JSON or form) and describe it in JSON Schema."""

    def read(self, value: Any, source: str) -> Any:  # pragma: no cover - each marker says
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:  # pragma: no cover - each marker says
        raise NotImplementedError

    def __get_pydantic_core_schema__(self, source_type: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any, info: core_schema.ValidationInfo) -> Any:
            return self.read(value, _source(info))

        return core_schema.with_info_plain_validator_function(validate)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return self.json_schema()


@dataclass(frozen=True)
class Text(_Marker):
    """Text of at most ``max_length`` characters after normalising (NFC, spaces collapsed; or ``multiline``).

    ``required`` is the message when it is missing or empty; without it an empty value reads as None.
    """

    max_length: int
    required: Message | None = None
    too_long: Message | None = None
    not_text: Message = NOT_TEXT
    normalise: Callable[[str], str] = nfc
    pattern: str | None = None
    bad_pattern: Message | None = None

    def read(self, value: Any, source: str) -> str | None:
        if value is not None and not isinstance(value, str):
            raise invalid(self.not_text)
        text = self.normalise(value) if value is not None else ""
        if not text:
            refuse_if_required(self.required)
            return None
        if len(text) > self.max_length:
            raise invalid(self.too_long or _l("At most %(n)d characters.", n=self.max_length))
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise invalid(self.bad_pattern or WRONG_TYPE)
        return text

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string" if self.required is not None else ["string", "null"],
                                  "maxLength": self.max_length}
        if self.pattern:
            schema["pattern"] = f"^{self.pattern}$"
        return schema


@dataclass(frozen=True)
class _Listed(_Marker):
    """Codes of a closed list (``codes.py``); ``message`` for a code not in it."""

    values: Collection[str]
    message: Message = NOT_IN_LIST

    def listed(self, value: Any) -> TypeGuard[str]:
        return isinstance(value, str) and value in self.values


@dataclass(frozen=True)
class Choice(_Listed):
    """One code of the list. ``required`` as for :class:`Text`; ``default`` when absent."""

    required: Message | None = None
    default: str | None = None

    def read(self, value: Any, source: str) -> str | None:
        if value is None or value == "":
            if self.default is not None:
                return self.default
            refuse_if_required(self.required)
            return None
        if not self.listed(value):
            raise invalid(self.message)
        return value

    def json_schema(self) -> dict[str, Any]:
        values = sorted(self.values)
        if self.required is None and self.default is None:
            return {"type": ["string", "null"], "enum": [*values, None]}
        return {"type": "string", "enum": values}


@dataclass(frozen=True)
class Choices(_Listed):
    """Distinct codes of the list, in the order given. ``empty`` is the message for none."""

    empty: Message | None = None
    max_items: int | None = None
    not_list: Message = WRONG_TYPE

    def read(self, value: Any, source: str) -> tuple[str, ...]:
        if value is None or value == "":
            value = []
        if source == FORM and isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise invalid(self.not_list)
        if not all(map(self.listed, value)):
            raise invalid(self.message)
        chosen = tuple(dict.fromkeys(value))
        if not chosen and self.empty is not None:
            raise invalid(self.empty)
        if self.max_items is not None and len(chosen) > self.max_items:
            raise invalid(self.message)
        return chosen

    def json_schema(self) -> dict[str, Any]:
        return json_limits({"type": "array", "items": {"type": "string", "enum": sorted(self.values)},
                            "uniqueItems": True},
                           minItems=1 if self.empty is not None else None, maxItems=self.max_items)


@dataclass(frozen=True)
class Integer(_Marker):
    """A whole number from ``minimum`` to ``maximum``; in a form, digits (dots and spaces between thousands
    allowed when ``grouped``: "1.500.000"), blank text being no value. ``form_message``: the form's own words for
    text that is no such number (``message`` otherwise)."""

    minimum: int | None = None
    maximum: int | None = None
    required: Message | None = None
    message: Message = NOT_WHOLE
    out_of_range: Message | None = None
    grouped: bool = False
    form_message: Message | None = None

    def read(self, value: Any, source: str) -> int | None:
        if blank(value, source):
            refuse_if_required(self.required)
            return None
        message = self.form_message if source == FORM and self.form_message is not None else self.message
        if source == FORM and isinstance(value, str):
            text = value.strip()
            if self.grouped:
                text = re.sub(r"(?<=[0-9])[. \u00a0](?=[0-9]{3}(?:[^0-9]|$))", "", text)
            if not _DIGITS.fullmatch(text):
                raise invalid(message)
            value = int(text)
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(message)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise invalid(self.out_of_range or message)
        return value

    def json_schema(self) -> dict[str, Any]:
        return json_limits({"type": "integer" if self.required is not None else ["integer", "null"]},
                           minimum=self.minimum, maximum=self.maximum)


MAX_AMOUNT_VND = 10**13  # far above any programme, far below BigInteger's limit
_GROUPED = re.compile(r"^\d{1,3}(?:[.,\s]\d{3})+$")


class OutOfRange(ValueError):
    """A whole number read, but below zero (or one) or above the maximum."""


def parse_whole_number(value: object, *, allow_zero: bool = False, maximum: int = MAX_AMOUNT_VND) -> int:
    """A whole number from an int or from text such as ``1.500.000`` / ``1 500 000`` / ``1500000`` / ``1.500.000 đ``.

    Raises ``ValueError`` with a translated message for decimals ("1,5", 2.5) and text, and :class:`OutOfRange`
    for zero (unless allowed), negative numbers and numbers above ``maximum``: VND has no minor unit, and
    quantities are counted.
    """
    if isinstance(value, bool):
        raise ValueError(_("Enter a whole number."))
    if isinstance(value, float):
        # JSON 1500000.0 or 1.5: money and quantities are sent as integers, never as decimals.
        raise ValueError(_("Enter a whole number, without decimals."))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = nfc(value).replace("₫", "").strip()
        text = re.sub(r"\s*(?:vnđ|vnd|đồng|đ)$", "", text, flags=re.IGNORECASE).strip()
        negative = text.startswith("-")
        digits = text[1:].strip() if negative else text
        if digits.isdigit():
            number = int(digits)
        elif _GROUPED.match(digits):
            number = int(re.sub(r"[.,\s]", "", digits))
        elif re.fullmatch(r"\d+(?:[.,]\d+)+", digits):
            raise ValueError(_("Enter a whole number, without decimals."))
        else:
            raise ValueError(_("Enter a whole number."))
        if negative:
            number = -number
    else:
        raise ValueError(_("Enter a whole number."))
    if number < 0 or (number == 0 and not allow_zero):
        raise OutOfRange(_("Enter a number greater than zero.") if not allow_zero
                         else _("Enter zero or a positive number."))
    if number > maximum:
        raise OutOfRange(_("This number is too large."))
    return number


@dataclass(frozen=True)
class Amount(_Marker):
    """Whole đồng or a count (:func:`parse_whole_number`): an integer in JSON; typed text in a form or a cell
    ("1.500.000", "1 500 000 đ"), decimals refused with their own message because VND has no minor unit; blank
    text in a form or a cell is no value.

    ``message``: the words for a JSON value that is no integer (else "Enter a whole number." or, for 2.5,
    "without decimals"); ``out_of_range``: the words for a number below zero (one) or above ``maximum``.
    """

    allow_zero: bool = False
    required: Message | None = None
    maximum: int = MAX_AMOUNT_VND
    message: Message | None = None
    out_of_range: Message | None = None

    def read(self, value: Any, source: str) -> int | None:
        if blank(value, source):
            refuse_if_required(self.required)
            return None
        if source == JSON and (isinstance(value, bool) or not isinstance(value, int)):
            if self.message is not None:
                raise invalid(self.message)
            if isinstance(value, str):
                raise invalid(NOT_WHOLE)  # JSON numbers are numbers
        if source == ROW and isinstance(value, float) and value.is_integer():
            value = int(value)  # a spreadsheet keeps every number as a float
        try:
            return parse_whole_number(value, allow_zero=self.allow_zero, maximum=self.maximum)
        except OutOfRange as error:
            raise invalid(self.out_of_range or str(error)) from None
        except ValueError as error:
            raise invalid(str(error)) from None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer" if self.required is not None else ["integer", "null"],
                "minimum": 0 if self.allow_zero else 1, "maximum": self.maximum}


def local_today() -> date:
    """Today in Vietnam: the day on the screens, against which "not in the future" is judged."""
    return datetime.now(VN_TZ).date()


@dataclass(frozen=True)
class Day(_Marker):
    """A calendar day: ISO ``2026-03-05`` in JSON; in a form also ``05/03/2026`` (how the screens write it).

    ``message`` is said of a JSON value that is no such day, ``form_message`` of a day typed wrong in a form
    (it names the form's way of writing it); ``not_future``: the words for a day after today in Vietnam.
    """

    required: Message | None = None
    message: Message = NOT_A_DATE
    form_message: Message = NOT_DAY_FORM
    not_future: Message | None = None

    def read(self, value: Any, source: str) -> date | None:
        if value is None or value == "":
            refuse_if_required(self.required)
            return None
        message = self.form_message if source == FORM else self.message
        if not isinstance(value, str):
            raise invalid(message)
        day = self._parse(value.strip(), source)
        if day is None:
            raise invalid(message)
        if self.not_future is not None and day > local_today():
            raise invalid(self.not_future)
        return day

    @staticmethod
    def _parse(text: str, source: str) -> date | None:
        try:
            if _ISO_DAY.fullmatch(text):
                return date.fromisoformat(text)
            found = _VN_DAY.fullmatch(text) if source == FORM else None
            if found:
                return date(int(found[3]), int(found[2]), int(found[1]))
        except ValueError:
            pass
        return None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string" if self.required is not None else ["string", "null"], "format": "date"}


# The ``datetime-local`` input writes 2026-03-05T21:30 (seconds when the step asks); people type 05/03/2026 21:30.
FORM_MOMENT_PATTERNS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Moment(_Marker):
    """A moment, kept in UTC: in JSON, ISO 8601 with its offset; in a form, the local Vietnamese time of a
    ``datetime-local`` input (or ``05/03/2026 21:30``). Blank text is no value.

    ``local_day``: also refuse a time that has no day in Vietnam (the last hours of year 9999), for a schema
    whose rules read its local day or year (the intake); the other moments keep accepting it. ``not_text``: the
    words for a JSON value that is not text (``message`` otherwise).
    """

    required: Message | None = None
    message: Message = NOT_MOMENT_JSON
    form_message: Message = NOT_MOMENT_FORM
    not_text: Message | None = None
    local_day: bool = False

    def read(self, value: Any, source: str) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            refuse_if_required(self.required)
            return None
        if not isinstance(value, str):
            raise invalid(self.form_message if source == FORM else self.not_text or self.message)
        text = value.strip()
        if source == FORM:
            for pattern in FORM_MOMENT_PATTERNS:
                try:
                    return datetime.strptime(text, pattern).replace(tzinfo=VN_TZ)
                except ValueError:
                    continue
            raise invalid(self.form_message)
        if len(text) > 64:
            raise invalid(self.message)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError(text)
            if self.local_day:
                parsed.astimezone(VN_TZ)  # OverflowError at the end of year 9999
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise invalid(self.message) from None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string" if self.required is not None else ["string", "null"], "format": "date-time"}


_TRUE = frozenset({"y", "yes", "on", "true", "1"})
_FALSE = frozenset({"n", "no", "off", "false", "0", ""})


@dataclass(frozen=True)
class Flag(_Marker):
    """Yes or no: a JSON boolean; a form's checkbox (absent means no) or its radio ``yes``/``no``.

    ``required``: a question that must be answered (a radio), its message when it is left out or empty.
    """

    default: bool = False
    message: Message = WRONG_TYPE
    required: Message | None = None

    def read(self, value: Any, source: str) -> bool:
        if self.required is not None and (value is None or (isinstance(value, str) and not value.strip())):
            raise invalid(self.required)
        if value is None:
            return self.default
        if isinstance(value, bool):
            return value
        if source == FORM and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise invalid(self.message)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


_MARKED: dict[type, tuple[str, ...]] = {}


class Schema(BaseModel):
    """Base of every input. Fields default to None so that each marker, not pydantic, says what is missing."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True, revalidate_instances="never")

    #: What an absent field reaches its marker as: None, so the marker's own message says it is missing (a
    #: schema that must tell "left out" from "sent as null" gives its own value).
    absent_value: ClassVar[Any] = None

    @model_validator(mode="before")
    @classmethod
    def _absent_is_none(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for name in cls._marked_fields():
                data.setdefault(name, cls.absent_value)
        return data

    @classmethod
    def _marked_fields(cls) -> tuple[str, ...]:
        cached = _MARKED.get(cls)
        if cached is None:
            cached = _MARKED[cls] = tuple(name for name, info in cls.model_fields.items()
                                          if any(isinstance(item, _Marker) for item in info.metadata))
        return cached

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read an API body (already a JSON object; ``casework.api.json.json_body`` refuses anything else)."""
        return cls._read(data, JSON)

    @classmethod
    def from_form(cls, data: Mapping[str, Any]) -> Self:
        """Read a submitted form: a mapping of field names to text, or to lists of text for multiple choices
        (``form_values`` turns a ``MultiDict`` into one)."""
        return cls._read(data, FORM)

    @classmethod
    def collect(cls, data: Mapping[str, Any], *, form: bool = False) -> tuple[Self | None, FieldErrors]:
        """Read without raising: the value, or None and the messages per field (for a service that adds
        its own errors from the database before answering once)."""
        try:
            return cls._read(data, FORM if form else JSON), {}
        except ValidationError as error:
            return None, error.fields

    @classmethod
    def _read(cls, data: Mapping[str, Any], source: str) -> Self:
        try:
            value = cls.model_validate(dict(data), context={"source": source})
        except PydanticValidationError as error:
            raise ValidationError(str(CORRECT_FIELDS), cls.field_errors(error)) from None
        errors = value.check()
        if errors:
            raise ValidationError(str(CORRECT_FIELDS), errors)
        return value

    @classmethod
    def read_all(cls, data: Mapping[str, Any], *, form: bool = False) -> tuple[Self, FieldErrors]:
        """The value and every message at once, for a form that shows all its errors in one round: a field
        that cannot be read is None in the value (a nested object: its own partial value), its message is
        kept, and ``check`` judges the rest (it must allow None; it never replaces a field's own message).
        The value is only usable when there are no messages."""
        context = {"source": FORM if form else JSON}
        try:  # the usual case, every field readable: one call into pydantic
            whole = cls.model_validate(dict(data), context=context)
        except PydanticValidationError:
            pass
        else:
            return whole, dict(whole.check())
        values: dict[str, Any] = {}
        errors: FieldErrors = {}
        for name, info in cls.model_fields.items():
            sent_as = _sent_as(name, info)  # what the client calls it: its messages are filed under it too
            raw = data.get(sent_as)
            kind = _nested(info.annotation)
            if kind is not None:
                if raw is not None and not isinstance(raw, Mapping):
                    errors[sent_as] = [str(NOT_OBJECT)]
                    raw = None
                if raw is None and info.annotation is not kind:  # an optional object that is absent
                    values[name] = None
                    continue
                inner, found = kind.read_all(raw or {}, form=form)
                errors.update({f"{sent_as}.{key}": messages for key, messages in found.items()})
                values[name] = inner
                continue
            adapter = _ADAPTERS.get((cls, name))
            if adapter is None:
                adapter = _ADAPTERS[(cls, name)] = TypeAdapter(Annotated[info.annotation, *info.metadata])  # type: ignore[arg-type]
            try:
                values[name] = adapter.validate_python(raw, context=context)
            except PydanticValidationError as error:
                errors[sent_as] = [str(item.get("ctx", {}).get("message") or REQUIRED)
                                   for item in error.errors(include_url=False)][:1]
                values[name] = None
        value = cls.model_construct(**values)
        for key, messages in value.check().items():
            errors.setdefault(key, messages)
        return value, errors

    def check(self) -> FieldErrors:
        """Rules across fields (each citing its law where there is one), run once every field has been read."""
        return {}

    @classmethod
    def error_key(cls, loc: tuple[int | str, ...]) -> str:
        """The name a field's messages are filed under: ``person.full_name``, ``budget_lines.0.item``."""
        return ".".join(str(part) for part in loc)

    @classmethod
    def field_errors(cls, error: PydanticValidationError) -> FieldErrors:
        errors: FieldErrors = {}
        for item in error.errors(include_url=False):
            if item["type"] == "tincay":
                message = str(item["ctx"]["message"])
            elif item["type"] in {"model_type", "model_attributes_type", "dict_type"}:
                message = str(WRONG_TYPE)
            elif item["type"] in {"list_type", "tuple_type"}:
                message = str(WRONG_TYPE)
            elif item["type"] == "missing":
                message = str(REQUIRED)
            else:
                message = str(WRONG_TYPE)
            messages = errors.setdefault(cls.error_key(tuple(item["loc"])), [])
            if message not in messages:
                messages.append(message)
        return errors

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        """The JSON Schema of this body for the OpenAPI document, nested schemas written in place."""
        schema = cls.model_json_schema(mode="validation")
        definitions = schema.pop("$defs", {})
        schema.pop("required", None)  # each marker says what is required, with its own message
        inlined: dict[str, Any] = _inline(schema, definitions)
        return inlined


_ADAPTERS: dict[tuple[type, str], TypeAdapter[Any]] = {}


def _sent_as(name: str, info: FieldInfo) -> str:
    """The key a field is read from: its alias when it has one (pydantic reads and files it so)."""
    alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    return alias or name


def _nested(annotation: Any) -> type[Schema] | None:
    """The schema of a nested object (``PersonIn``, or ``IntakeConsentIn | None``), or None for a plain field."""
    for kind in (annotation, *get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, Schema):
            return kind
    return None


def _inline(node: Any, definitions: Mapping[str, Any]) -> Any:
    """A schema object with its ``$ref`` written in place and pydantic's ``title``/``default``/``required``
    left out; the names inside ``properties`` are fields (a field may be called ``title``) and all stay."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _inline(definitions[name], definitions)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _inline(field, definitions) for name, field in value.items()}
            elif key not in {"title", "default", "required"}:
                out[key] = _inline(value, definitions)
        return out
    if isinstance(node, list):
        return [_inline(value, definitions) for value in node]
    return node


class Absent(enum.Enum):
    """A field the JSON body does not name, told apart from one it names as null (a PATCH changes only what
    it names; a missing quarter is "required", a null one "not a quarter")."""

    ABSENT = "absent"


ABSENT: Final = Absent.ABSENT


class NamedFieldsOnly(Schema):
    """A body of only the fields it names: an absent field reaches its marker as :data:`ABSENT` rather than
    None, and the document allows no other field (the API refuses one before the body is read)."""

    absent_value: ClassVar[Any] = ABSENT

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        return {**super().openapi(), "additionalProperties": False}


def form_values(form: Any, *, lists: Iterable[str] = ()) -> dict[str, Any]:
    """A submitted form as the mapping ``Schema.from_form`` reads: a ``MultiDict`` (``request.form``) or a
    Flask-WTF form (``form.data``); the names in ``lists`` keep every value, the others their first."""
    many = set(lists)
    if hasattr(form, "getlist"):
        return {key: (form.getlist(key) if key in many else form.get(key)) for key in form.keys()}
    data = dict(getattr(form, "data", form))
    data.pop("csrf_token", None)
    data.pop("submit", None)
    return data


@dataclass
class Errors:
    """Messages per field gathered from a schema and a service's own checks, raised once."""

    fields: FieldErrors = field(default_factory=dict)

    def add(self, name: str, message: Message) -> None:
        self.fields.setdefault(name, []).append(str(message))

    def merge(self, other: Mapping[str, list[str]]) -> None:
        for name, messages in other.items():
            for message in messages:
                if message not in self.fields.get(name, []):
                    self.add(name, message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError(str(CORRECT_FIELDS), self.fields)
