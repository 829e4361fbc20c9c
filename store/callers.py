"""Citizens who call: phone normalisation (E.164, region CN), masking, geography, and the Caller row.

Full numbers live in the store (the department needs them); everything shown or logged outside a
role that needs them goes through ``mask_phone``:

- mobiles keep the carrier prefix and the last 4 digits: ``13812345678`` -> ``138****5678``;
- fixed lines keep their area code and the last 3 digits of the local number, because the area code
  tells where the caller is (``0412`` is Anshan): ``04126911877`` -> ``0412-****877``, ``010`` and
  ``02x`` being the 3-digit codes and every other ``0xxx`` a 4-digit one (``01012345678`` ->
  ``010-*****678``);
- short service numbers and extensions (``110``, ``12345``, ``95588``, ``1001``) and 400/800
  enterprise lines are nobody's private number and stay as they are;
- numbers abroad keep their country code: ``+12025550123`` -> ``+1 202****0123``.

Which role sees a number in full is ``phone_for(role, number)`` (``FULL_NUMBER_ROLES``). Logs, the
CLI's output and exports mask always, whoever runs them.
"""

from __future__ import annotations

import datetime as dt

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Caller, Ticket

REGION = "CN"


class PhoneError(ValueError):
    """A phone number that cannot be a Chinese (or international) subscriber number."""


def normalise_phone(raw: str, region: str = REGION) -> str:
    """``raw`` as E.164 (``+8613812345678``); raises PhoneError with a readable line."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("phone number is empty")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"not a phone number: {mask_phone(text)}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"not a valid phone number: {mask_phone(text)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# The people who phone citizens (store.lifecycle.HOTLINE): an operator reads the number back to the
# caller on a live call and dials it for 漏接回拨 and 回访; supervisors and admins handle the same
# calls and corrections. Trainers and QA replay recorded calls and need no number; any other role
# (department, backend, system, a typo) sees it masked.
FULL_NUMBER_ROLES: frozenset[str] = frozenset({"operator", "supervisor", "admin"})


def sees_full_number(role: str) -> bool:
    """Whether ``role`` is shown citizens' numbers in full (``FULL_NUMBER_ROLES``)."""
    return role in FULL_NUMBER_ROLES


def phone_for(role: str, number: str | None) -> str | None:
    """``number`` as ``role`` may see it: as given for the roles that phone citizens, masked otherwise.

    Every place that shows a citizen's number to a logged-in user goes through this, so the ticket
    form's phone field, the status line and the worklists agree for one role.
    """
    return number if sees_full_number(role) else mask_phone(number)


def _split_number(phone: str) -> tuple[int, str]:
    """The country code and national significant digits (no trunk 0) of ``phone``; 86 when unsure."""
    try:
        number = phonenumbers.parse(phone, REGION)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in phone if ch.isdigit())
        return 86, digits[1:] if digits.startswith("0") and not digits.startswith("00") else digits
    return number.country_code or 86, phonenumbers.national_significant_number(number)


def _area_length(national: str) -> int:
    """Digits of a mainland area code without its trunk 0: 2 for 010 and 02x, 3 for every 0xxx."""
    return 2 if national[:2] == "10" or national[:1] == "2" else 3


def _mask_local(local: str) -> str:
    return "*" * (len(local) - 3) + local[-3:]


def mask_phone(phone: str | None) -> str | None:
    """``phone`` as it may be shown to anyone (see the module docstring): ``138****5678``,
    ``0412-****877``, ``110``; ``****`` for text that holds no digits."""
    if not phone:
        return phone
    country, national = _split_number(phone)
    if not national:
        return "****"
    if country != 86:
        tail = f"{national[:3]}****{national[-4:]}" if len(national) >= 8 else f"****{national[-2:]}"
        return f"+{country} {tail}"
    if len(national) <= 6 or (len(national) == 10 and national[:3] in ("400", "800")):
        return national  # a service number, an extension or an enterprise line
    if len(national) == 11 and national[0] == "1":
        return f"{national[:3]}****{national[-4:]}"
    area = _area_length(national)
    if national[0] != "1" or national[:2] == "10":
        local = national[area:]
        if len(local) in (7, 8):
            return f"0{national[:area]}-{_mask_local(local)}"
    if len(national) in (7, 8):  # a local number dialled without its area code
        return _mask_local(national)
    return f"{national[:3]}****{national[-4:]}"


def place_of(number: str) -> str:
    """Where a mainland number is registered (``辽宁省鞍山市``), from phonenumbers' geocoder; "" if unknown."""
    from phonenumbers import geocoder  # its data takes ~0.4 s to load: only when a call rings

    try:
        parsed = phonenumbers.parse(number, REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return geocoder.description_for_number(parsed, "zh") or ""


def caller_id_for(session: Session, phone: str, now: dt.datetime, name: str | None = None) -> int:
    """The id of the Caller with this (already normalised) phone, created if new.

    Safe under concurrency: two seats creating the same caller at once both get the one row.
    """
    found = session.execute(select(Caller.id, Caller.name).where(Caller.phone == phone)).first()
    if found is not None:
        if name and not found.name:
            session.execute(update(Caller).where(Caller.id == found.id).values(name=name))
        return int(found.id)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Caller).values(phone=phone, name=name, created_at=now)
    new_id = session.execute(
        stmt.on_conflict_do_nothing(index_elements=["phone"]).returning(Caller.id)
    ).scalar()
    if new_id is None:  # another seat inserted it between our select and insert
        new_id = session.execute(select(Caller.id).where(Caller.phone == phone)).scalar_one()
    return int(new_id)


def find_caller(session: Session, phone: str) -> Caller | None:
    return session.scalars(select(Caller).where(Caller.phone == normalise_phone(phone))).one_or_none()


def numbers_with_tickets(session: Session, limit: int = 40) -> list[str]:
    """Up to ``limit`` callers' numbers that have tickets, as national digits (``13812345678``)."""
    rows = session.scalars(
        select(Caller.phone).join(Ticket, Ticket.caller_id == Caller.id).distinct().limit(limit)
    ).all()
    return [p.removeprefix("+86") for p in rows if p]
