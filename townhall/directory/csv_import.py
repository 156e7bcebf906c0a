"""Bulk import of people from an HR spreadsheet (CSV).

`import_people` reads the whole file, validates every row against the file and the
database, and only then writes, in one transaction. Any error anywhere means nothing
is written. A dry run stops after validation and reports what would change.

Semantics an HR person can rely on (also shown on the upload page):
- columns are found by header name (case-insensitive, any order);
- people are matched by email (case-insensitive); unknown emails are created with
  no usable password (they reset it or are invited later);
- an empty cell leaves the existing value as it is;
- managers may be people created by the same file.

Bulk writes bypass `accounts.hooks.run_user_created`: the profile that hook would
create is created here, in bulk, with the same search fields.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import IO, Any, Literal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from townhall.accounts.models import Role, User
from townhall.accounts.permissions import check_administer
from townhall.core.errors import ValidationFailed
from townhall.directory.hooks import run_bulk_directory_change
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.services import clean_tags
from townhall.directory.text import search_text_for

MAX_ROWS = 50_000
CHUNK = 500
MAX_ERRORS = 1_000

# Canonical column -> accepted spellings after normalising (lower case, spaces and
# hyphens as underscores).
COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e_mail", "email_address", "work_email"),
    "full_name": ("full_name", "name"),
    "preferred_name": ("preferred_name",),
    "pronouns": ("pronouns",),
    "title": ("title", "job_title"),
    "department": ("department",),
    "team": ("team",),
    "location": ("location", "office"),
    "manager_email": ("manager_email", "manager"),
    "phone": ("phone", "phone_number"),
    "skills": ("skills",),
    "interests": ("interests",),
    "start_date": ("start_date",),
    "timezone": ("timezone", "time_zone"),
    "role": ("role",),
}
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}

LIMITS = {
    "email": 254,
    "full_name": 150,
    "preferred_name": 80,
    "pronouns": 40,
    "title": 120,
    "department": 120,
    "team": 120,
    "location": 120,
    "manager_email": 254,
    "phone": 40,
    "timezone": 64,
}
_USER_FIELDS = ("full_name", "preferred_name", "role")
_TEXT_PROFILE_FIELDS = ("pronouns", "title", "phone", "timezone")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TAG_SPLIT = re.compile(r"[;|]")
# Text files never hold C0/C1 control characters other than tab and line breaks.
_BINARY_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class ImportProblem:
    """One error: `line` is the spreadsheet row (header = 1); None for the whole file."""

    message: str
    line: int | None = None
    column: str = ""

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"Line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class RowResult:
    line: int
    email: str
    action: Action
    changes: tuple[FieldChange, ...] = ()


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    errors: list[ImportProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    def summary(self) -> str:
        if self.errors:
            return f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''} found; nothing was imported."
        people = "person" if self.created == 1 else "people"
        if self.dry_run:
            return f"Would create {self.created} {people} and update {self.updated}; {self.unchanged} unchanged."
        return f"Created {self.created} {people} and updated {self.updated}; {self.unchanged} unchanged."


def check_can_import(actor: Any) -> None:
    """Raises PermissionDenied unless `actor` may import people (admins only)."""
    check_administer(actor)


# --- Reading the file ------------------------------------------------------------


class _FileProblem(Exception):
    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _max_bytes() -> int:
    return int(settings.TOWNHALL_CSV_MAX_BYTES)


def max_size_text() -> str:
    """The CSV size limit as people read it: "5 MB", "512 KB"."""
    limit = _max_bytes()
    return f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"


def _too_big_message() -> str:
    return f"The file is larger than {max_size_text()}. Split it into smaller files and import them one after another."


def _decode(data: bytes | str | IO[bytes] | IO[str], warnings: list[str]) -> str:
    limit = _max_bytes()
    if not isinstance(data, bytes | str):
        data = data.read(limit + 1)
    if isinstance(data, str):
        # Text already decoded (a str or a text stream): the limit counts characters.
        if len(data) > limit:
            raise _FileProblem(_too_big_message())
        text = data
    else:
        if len(data) > limit:
            raise _FileProblem(_too_big_message())
        text = _decode_bytes(data, warnings)
    text = text.removeprefix("\ufeff")
    if _BINARY_RE.search(text):
        raise _FileProblem(
            "This does not look like a CSV file (it contains binary data). Save the spreadsheet as “CSV UTF-8” and try again."
        )
    if not text.strip():
        raise _FileProblem("The file is empty.")
    return text


def _decode_bytes(raw: bytes, warnings: list[str]) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _FileProblem("The file says it is UTF-8 but is not. Save it as “CSV UTF-8” and try again.") from exc
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _FileProblem("The file could not be read as UTF-16. Save it as “CSV UTF-8” and try again.") from exc
    if b"\x00" in raw:
        raise _FileProblem(
            "This does not look like a CSV file (it contains binary data). Save the spreadsheet as “CSV UTF-8” and try again."
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Excel on Windows saves plain "CSV" in Windows-1252; Latin-1 reads anything left.
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    warnings.append(
        "The file is not UTF-8, so it was read as Western European (Windows-1252). "
        "Check that accented names look right in the report, or save the file as “CSV UTF-8”."
    )
    return text


def _sniff_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, as spreadsheets name columns."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _normalise_header(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


# --- Planning ------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    email: str
    values: dict[str, Any]
    user: User | None = None
    profile: Profile | None = None
    skills: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    team_cleared: bool = False


@dataclass
class _Plan:
    rows: list[_Row]
    columns: dict[str, str]  # canonical name -> header as written
    errors: list[ImportProblem]
    warnings: list[str]


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _split_tags(raw: str) -> list[str]:
    return [part for part in (p.strip() for p in _TAG_SPLIT.split(raw)) if part]


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _users_by_email(emails: Iterable[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk in _chunks(sorted(set(emails))):
        for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
            found[user.email.lower()] = user
    return found


def _read_rows(
    text: str, errors: list[ImportProblem], warnings: list[str]
) -> tuple[dict[str, int], dict[str, str], int, list[tuple[int, list[str]]]]:
    """Header map (canonical -> index), canonical -> header as written, header
    width, and the non-blank data rows with their spreadsheet line numbers."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    line = 0
    try:
        for record in reader:
            line += 1
            if line > MAX_ROWS + 1:
                raise _FileProblem(
                    f"The file has more than {MAX_ROWS:,} rows. Split it and import the parts one after another."
                )
            records.append((line, [cell.strip() for cell in record]))
    except csv.Error as exc:
        raise _FileProblem(f"The file could not be read as CSV ({exc}).", line=line + 1) from exc
    if not records or not any(records[0][1]):
        raise _FileProblem("The first line must be a header naming the columns, e.g. email,full_name,title.")
    header = records[0][1]
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    for position, raw in enumerate(header):
        if not raw:
            warnings.append(f"Column {column_letter(position)} has no header and was ignored.")
            continue
        canonical = _ALIASES.get(_normalise_header(raw))
        if canonical is None:
            warnings.append(
                f"Column {column_letter(position)} (“{raw}”) is not a column Townhall knows, so it was ignored."
            )
            continue
        if canonical in index:
            errors.append(
                ImportProblem(
                    f"The column “{raw}” appears twice (also column {column_letter(index[canonical])}).",
                    line=1,
                    column=column_letter(position),
                )
            )
            continue
        index[canonical] = position
        written[canonical] = raw
    if "email" not in index:
        raise _FileProblem(
            "The file has no “email” column. The header (line 1) must name the columns, e.g. email,full_name,title."
        )
    rows = [(ln, cells) for ln, cells in records[1:] if any(cells)]
    if not rows:
        raise _FileProblem("The file has a header but no people in it.")
    return index, written, len(header), rows


def _plan(text: str, warnings: list[str]) -> _Plan:
    errors: list[ImportProblem] = []
    index, written, header_width, records = _read_rows(text, errors, warnings)

    def problem(line: int, column: str, message: str) -> None:
        errors.append(ImportProblem(message, line=line, column=written.get(column, column)))

    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        extra = [i for i in range(header_width, len(cells)) if cells[i]]
        values: dict[str, Any] = {}
        for column, position in index.items():
            value = cells[position] if position < len(cells) else ""
            if value:
                values[column] = value
        row_ok = True
        email = values.pop("email", "").lower()
        if not email:
            problem(line, "email", "Enter an email address.")
            row_ok = False
        elif len(email) > LIMITS["email"]:
            problem(line, "email", f"At most {LIMITS['email']} characters.")
            row_ok = False
        else:
            try:
                validate_email(email)
            except ValidationError:
                problem(line, "email", f"“{email}” is not a valid email address.")
                row_ok = False
        if row_ok:
            if email in seen:
                problem(line, "email", f"{email} is already on line {seen[email]}; each person may appear only once.")
                row_ok = False
            else:
                seen[email] = line
        for column, limit in LIMITS.items():
            if column in values and len(values[column]) > limit:
                problem(line, column, f"At most {limit} characters (this has {len(values[column])}).")
                values.pop(column)
        for column in ("department", "team", "location"):
            if column in values:
                values[column] = " ".join(values[column].split())
        if "manager_email" in values:
            manager = values["manager_email"].lower()
            try:
                validate_email(manager)
            except ValidationError:
                problem(line, "manager_email", f"“{values['manager_email']}” is not a valid email address.")
                values.pop("manager_email")
            else:
                if manager == email:
                    problem(line, "manager_email", "A person cannot be their own manager.")
                    values.pop("manager_email")
                else:
                    values["manager_email"] = manager
        if "start_date" in values:
            raw = values.pop("start_date")
            try:
                if not _DATE_RE.match(raw):
                    raise ValueError
                parsed = date.fromisoformat(raw)
                if not date(1950, 1, 1) <= parsed <= date(2100, 1, 1):
                    raise ValueError
            except ValueError:
                problem(line, "start_date", f"“{raw}” is not a date; write it as YYYY-MM-DD, e.g. 2024-03-18.")
            else:
                values["start_date"] = parsed
        if "timezone" in values and values["timezone"] not in _timezones():
            problem(line, "timezone", f"“{values['timezone']}” is not a time zone; use a name like Europe/Helsinki.")
            values.pop("timezone")
        if "role" in values:
            role = _normalise_header(values["role"])
            if role not in Role.values:
                problem(line, "role", f"“{values['role']}” is not a role; use one of {', '.join(Role.values)}.")
                values.pop("role")
            else:
                values["role"] = role
        for column in ("skills", "interests"):
            if column in values:
                try:
                    values[column] = clean_tags(_split_tags(values[column]), label=column)
                except ValidationFailed as exc:
                    problem(line, column, exc.message)
                    values.pop(column)
        if extra:
            problem(line, column_letter(extra[0]), "This row has more cells than the header has columns.")
        # A row without a usable email is already reported; it takes no part in later checks.
        rows.append(_Row(line=line, email=email if row_ok else "", values=values))
    return _Plan(rows=rows, columns=written, errors=errors, warnings=warnings)


def _load_existing(plan: _Plan) -> dict[str, User]:
    """Attach existing users, profiles and tags to the rows; return every user the
    file mentions (people and managers) by lower-cased email."""
    mentioned = {row.email for row in plan.rows if row.email}
    mentioned |= {row.values["manager_email"] for row in plan.rows if "manager_email" in row.values}
    users = _users_by_email(mentioned)
    ids = [users[row.email].pk for row in plan.rows if row.email in users]
    profiles: dict[int, Profile] = {}
    skills: dict[int, list[str]] = {}
    interests: dict[int, list[str]] = {}
    for chunk in _chunks(ids):
        for profile in Profile.objects.filter(user_id__in=chunk).select_related(
            "department", "team", "location", "manager"
        ):
            profiles[profile.user_id] = profile
        for through, target in ((Profile.skills.through, skills), (Profile.interests.through, interests)):
            for profile_id, name in through.objects.filter(profile_id__in=chunk).values_list("profile_id", "tag__name"):
                target.setdefault(profile_id, []).append(name)
    for row in plan.rows:
        user = users.get(row.email)
        if user is not None:
            row.user = user
            row.profile = profiles.get(user.pk)
            row.skills = sorted(skills.get(user.pk, []))
            row.interests = sorted(interests.get(user.pk, []))
    return users


def _check_people(plan: _Plan, users: dict[str, User], actor: User) -> None:
    in_file = {row.email for row in plan.rows}

    def problem(row: _Row, column: str, message: str) -> None:
        plan.errors.append(ImportProblem(message, line=row.line, column=plan.columns.get(column, column)))

    for row in plan.rows:
        if not row.email:
            continue
        if row.user is None and not row.values.get("full_name"):
            problem(row, "full_name", "A new person needs a name (full_name).")
        if row.user is not None and row.user.pk == actor.pk and row.values.get("role", actor.role) != actor.role:
            problem(row, "role", "You cannot change your own role by import.")
        manager = row.values.get("manager_email")
        if manager is not None:
            known = users.get(manager)
            if known is None and manager not in in_file:
                problem(row, "manager_email", f"No one with the email {manager} is in the directory or in this file.")
                row.values.pop("manager_email")
            elif known is not None and not known.is_active:
                problem(row, "manager_email", f"The manager {manager} is deactivated.")
                row.values.pop("manager_email")
        if "team" in row.values:
            department = row.values.get("department") or (
                row.profile.department.name if row.profile and row.profile.department else ""
            )
            if not department:
                problem(row, "team", "A team belongs to a department; fill in the department too.")
                row.values.pop("team")
    _check_loops(plan)


def _check_loops(plan: _Plan) -> None:
    """Reporting loops in the state after the import: the file's managers over the
    database's. The org chart is a forest; every row whose manager it sets is checked."""
    setting = {row.email: row for row in plan.rows if "manager_email" in row.values}
    if not setting:
        return
    current: dict[str, str | None] = {
        email.lower(): (manager.lower() if manager else None)
        for email, manager in Profile.objects.values_list("user__email", "manager__email").iterator(chunk_size=2000)
    }

    def manager_of(email: str) -> str | None:
        row = setting.get(email)
        return row.values["manager_email"] if row is not None else current.get(email)

    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in setting:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in state:
            state[node] = 1
            path.append(node)
            node = manager_of(node)
        if node is not None and state.get(node) == 1:
            loop = path[path.index(node) :]
            shown = " → ".join([*loop, loop[0]])
            for email in loop:
                row = setting.get(email)
                if row is not None:
                    plan.errors.append(
                        ImportProblem(
                            f"This makes a reporting loop: {shown}.",
                            line=row.line,
                            column=plan.columns["manager_email"],
                        )
                    )
        for visited in path:
            state[visited] = 2


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _diff(row: _Row) -> None:
    """Fill row.changes with what the import would change (or set, for new people)."""
    values = row.values
    changes: list[FieldChange] = []
    if row.user is None:
        for name in (*_USER_FIELDS, *_TEXT_PROFILE_FIELDS, "department", "team", "location", "manager_email"):
            if name in values:
                changes.append(FieldChange(name, "", values[name]))
        if "start_date" in values:
            changes.append(FieldChange("start_date", "", values["start_date"].isoformat()))
        for name in ("skills", "interests"):
            if values.get(name):
                changes.append(FieldChange(name, "", ", ".join(values[name])))
        row.changes = changes
        return
    user, profile = row.user, row.profile
    for name in _USER_FIELDS:
        if name in values and values[name] != getattr(user, name):
            changes.append(FieldChange(name, getattr(user, name), values[name]))
    for name in _TEXT_PROFILE_FIELDS:
        old = getattr(profile, name) if profile else ""
        if name in values and values[name] != old:
            changes.append(FieldChange(name, old, values[name]))
    old_department = profile.department.name if profile and profile.department else ""
    new_department = old_department
    if "department" in values and not _same(values["department"], old_department):
        new_department = values["department"]
        changes.append(FieldChange("department", old_department, new_department))
    old_team = profile.team.name if profile and profile.team else ""
    team_department_moved = (
        profile is not None and profile.team is not None and not _same(new_department, old_department)
    )
    if "team" in values:
        if not _same(values["team"], old_team) or team_department_moved:
            changes.append(FieldChange("team", old_team, values["team"]))
    elif team_department_moved:
        row.team_cleared = True
        changes.append(FieldChange("team", old_team, ""))
    old_location = profile.location.name if profile and profile.location else ""
    if "location" in values and not _same(values["location"], old_location):
        changes.append(FieldChange("location", old_location, values["location"]))
    old_manager = profile.manager.email.lower() if profile and profile.manager else ""
    if "manager_email" in values and values["manager_email"] != old_manager:
        changes.append(FieldChange("manager_email", old_manager, values["manager_email"]))
    old_start = profile.start_date if profile else None
    if "start_date" in values and values["start_date"] != old_start:
        changes.append(
            FieldChange("start_date", old_start.isoformat() if old_start else "", values["start_date"].isoformat())
        )
    for name, old_list in (("skills", row.skills), ("interests", row.interests)):
        if name in values and sorted(t.casefold() for t in values[name]) != sorted(t.casefold() for t in old_list):
            changes.append(FieldChange(name, ", ".join(old_list), ", ".join(values[name])))
    row.changes = changes


def _results(plan: _Plan) -> list[RowResult]:
    results = []
    for row in plan.rows:
        action: Action = "created" if row.user is None else ("updated" if row.changes else "unchanged")
        results.append(RowResult(line=row.line, email=row.email, action=action, changes=tuple(row.changes)))
    return results


# --- Writing -------------------------------------------------------------------------


def _by_name(model: Any, names: set[str]) -> dict[str, Any]:
    """Rows of a name-keyed reference model (Department, Location, Tag) by folded
    name, the missing ones created in one insert. Matching ignores case like
    `services.department_named`, but for every alphabet."""
    existing: dict[str, Any] = {}
    for obj in model.objects.order_by("id"):
        existing.setdefault(obj.name.casefold(), obj)
    missing = {n.casefold(): n for n in names if n.casefold() not in existing}
    for obj in model.objects.bulk_create([model(name=n) for n in missing.values()]):
        existing[obj.name.casefold()] = obj
    return existing


def _teams(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Team]:
    existing: dict[tuple[int, str], Team] = {}
    for team in Team.objects.order_by("id"):
        existing.setdefault((team.department_id, team.name.casefold()), team)
    missing = {(d, n.casefold()): (d, n) for d, n in pairs if (d, n.casefold()) not in existing}
    for team in Team.objects.bulk_create([Team(department_id=d, name=n) for d, n in missing.values()]):
        existing[(team.department_id, team.name.casefold())] = team
    return existing


_PROFILE_UPDATE_FIELDS = [
    "pronouns", "title", "phone", "timezone", "department", "team", "location", "manager", "start_date",
    "search_text", "sort_name", "updated_at",
]  # fmt: skip


def _update_many(model: Any, objects: list[Any], fields: list[str]) -> None:
    """UPDATE each object's `fields` with one prepared statement run for all of them.

    `QuerySet.bulk_update` builds a CASE expression per field and row in Python and
    took 10 s for 5,000 profiles; executemany takes a fraction of a second. Values
    go through each field's own database preparation, as the ORM's would.
    """
    if not objects:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608 - identifiers from the model  # nosec B608 - compiled or fixed SQL text; values are parameters
    params = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] + [obj.pk] for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _apply(plan: _Plan) -> None:
    now = timezone.now()
    changed = [row for row in plan.rows if row.user is None or row.changes]
    if not changed:
        return
    departments: dict[str, Department] = _by_name(
        Department, {r.values["department"] for r in changed if "department" in r.values}
    )
    locations: dict[str, Location] = _by_name(
        Location, {r.values["location"] for r in changed if "location" in r.values}
    )
    tags: dict[str, Tag] = _by_name(
        Tag, {t for r in changed for name in ("skills", "interests") for t in r.values.get(name, [])}
    )

    def final_department(row: _Row) -> Department | None:
        if "department" in row.values:
            return departments[row.values["department"].casefold()]
        return row.profile.department if row.profile else None

    teams = _teams({(d.pk, r.values["team"]) for r in changed if "team" in r.values and (d := final_department(r))})

    # Users: create the new ones in bulk (no usable password), update changed names and roles.
    unusable = make_password(None)
    new_users = [
        User(
            email=row.email,
            full_name=row.values["full_name"],
            preferred_name=row.values.get("preferred_name", ""),
            role=row.values.get("role", Role.MEMBER),
            password=unusable,
            date_joined=now,
        )
        for row in changed
        if row.user is None
    ]
    User.objects.bulk_create(new_users)
    ids = {
        email: user.pk
        for email, user in _users_by_email(
            [row.email for row in changed]
            + [row.values["manager_email"] for row in changed if "manager_email" in row.values]
        ).items()
    }
    updated_users = []
    for row in changed:
        if row.user is not None and any(c.field in _USER_FIELDS for c in row.changes):
            for name in _USER_FIELDS:
                if name in row.values:
                    setattr(row.user, name, row.values[name])
            updated_users.append(row.user)
    _update_many(User, updated_users, list(_USER_FIELDS))

    # Profiles: build each final state in memory, then one bulk insert and one bulk update.
    created_profiles: list[Profile] = []
    updated_profiles: list[Profile] = []
    for row in changed:
        user_id = ids[row.email]
        profile = row.profile
        if profile is None:
            profile = Profile(user_id=user_id, timezone="UTC")
            created_profiles.append(profile)
        else:
            updated_profiles.append(profile)
        values = row.values
        for name in _TEXT_PROFILE_FIELDS:
            if name in values:
                setattr(profile, name, values[name])
        if "department" in values:
            profile.department = departments[values["department"].casefold()]
        if "location" in values:
            profile.location = locations[values["location"].casefold()]
        if "team" in values:
            department = final_department(row)
            profile.team = teams[(department.pk, values["team"].casefold())] if department else None
        elif row.team_cleared:
            profile.team = None
        if "manager_email" in values:
            profile.manager_id = ids[values["manager_email"]]
        if "start_date" in values:
            profile.start_date = values["start_date"]
        profile.updated_at = now
        skills = [tags[t.casefold()].name for t in values["skills"]] if "skills" in values else row.skills
        user = row.user or User(
            email=row.email, full_name=values["full_name"], preferred_name=values.get("preferred_name", "")
        )
        profile.search_text, profile.sort_name = search_text_for(
            full_name=user.full_name,
            preferred_name=user.preferred_name,
            email=user.email,
            title=profile.title,
            department=profile.department.name if profile.department else "",
            team=profile.team.name if profile.team else "",
            skills=skills,
        )
    Profile.objects.bulk_create(created_profiles, batch_size=CHUNK)
    _update_many(Profile, updated_profiles, _PROFILE_UPDATE_FIELDS)

    # Skills and interests: replace the through rows of the profiles whose lists changed.
    throughs: tuple[tuple[str, Any], ...] = (
        ("skills", Profile.skills.through),
        ("interests", Profile.interests.through),
    )
    for name, through in throughs:
        replaced = [
            row
            for row in changed
            if name in row.values and (row.user is None or any(c.field == name for c in row.changes))
        ]
        profile_ids = [ids[row.email] for row in replaced]
        for chunk in _chunks(profile_ids):
            through.objects.filter(profile_id__in=chunk).delete()
        through.objects.bulk_create(
            [
                through(profile_id=ids[row.email], tag_id=tags[t.casefold()].pk)
                for row in replaced
                for t in row.values[name]
            ],
            batch_size=CHUNK * 2,
        )


def import_people(*, actor: User, data: bytes | str | IO[bytes] | IO[str], dry_run: bool) -> ImportReport:
    """Import people from CSV `data` (bytes, text or a stream).

    Only admins may (PermissionDenied otherwise). Every row is validated against the
    file and the database first; with any error the report lists them all (line and
    column as a spreadsheet shows them) and nothing is written. A dry run writes
    nothing either. Otherwise creations and updates are written in one transaction;
    a file-level or concurrent-change problem is reported, never raised.
    """
    check_can_import(actor)
    report = ImportReport(dry_run=dry_run)
    try:
        text = _decode(data, report.warnings)
        if dry_run:
            _run(text, actor, report, write=False)
        else:
            with transaction.atomic():
                _run(text, actor, report, write=True)
    except _FileProblem as exc:
        report.errors = [ImportProblem(exc.message, line=exc.line)]
        report.rows = []
    except IntegrityError:
        report.errors = [
            ImportProblem(
                "Someone changed the directory while the file was being imported, so nothing was imported. Try again."
            )
        ]
        report.rows = []
    report.errors = (
        report.errors[:MAX_ERRORS]
        if len(report.errors) <= MAX_ERRORS
        else [*report.errors[:MAX_ERRORS], ImportProblem(f"… and {len(report.errors) - MAX_ERRORS:,} more errors.")]
    )
    return report


def _run(text: str, actor: User, report: ImportReport, *, write: bool) -> None:
    plan = _plan(text, report.warnings)
    users = _load_existing(plan)
    _check_people(plan, users, actor)
    report.errors = sorted(plan.errors, key=lambda p: p.line or 0)
    if report.errors:
        return
    for row in plan.rows:
        _diff(row)
    report.rows = _results(plan)
    if write:
        _apply(plan)
        # Bulk writes skip the per-person hooks: let dependants (department
        # communities) resync once, inside the same transaction.
        run_bulk_directory_change()
        report.applied = True
