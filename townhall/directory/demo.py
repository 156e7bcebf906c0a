"""A deterministic demo organisation: Northwind Group.

`generate_people` is pure (same seed and anchor date -> same people); `build_demo`
writes its result into an empty database in a handful of bulk inserts, so 160 people
take well under a second and 10,000 a few seconds. Every demo person shares one
password, hashed once (argon2 costs ~0.5 s per hash) and kept in
`<var>/demo-credentials.txt` (mode 0600) so the sign-in line can be shown again.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path
from random import Random
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from townhall.accounts.models import Organisation, Role, User
from townhall.accounts.selectors import organisation_get
from townhall.core.errors import Conflict, ValidationFailed
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.text import fold, search_text_for

ORG_NAME = "Northwind Group"
DOMAIN = "northwind.example"
ADMIN_EMAIL = f"admin@{DOMAIN}"
MEMBER_EMAIL = f"member@{DOMAIN}"
CREDENTIALS_FILE = "demo-credentials.txt"
MIN_PEOPLE = 50
MAX_PEOPLE = 100_000
FANOUT = 8  # direct reports per manager inside a team before another layer starts
HISTORY_DAYS = 8 * 365

GUIDELINES = """\
Welcome to Northwind's Townhall. It is where we share news, ask questions and get to \
know each other across offices and time zones. A few ground rules keep it useful for everyone.

Be kind and assume good intent. Disagree with ideas, never with people. Harassment, \
discrimination and personal attacks are not tolerated here or anywhere else at Northwind.

Keep confidential things confidential. Customer data, unannounced results, salaries and \
anything under NDA stay out of open communities; use a private group or talk to your manager.

Post where it helps most: team news in your team's community, questions in Q&A so the \
answer can be found later, company-wide announcements through People & Culture.

Everything here is visible to colleagues and is covered by the Code of Conduct and the \
Acceptable Use Policy. If something looks wrong, report it with the flag button or write \
to people@northwind.example. Thank you for helping make Townhall a good place to work."""


@dataclass(frozen=True)
class _Dept:
    name: str
    weight: float
    head_title: str
    lead_title: str  # "{team}" is the team's name
    teams: tuple[str, ...]
    titles: tuple[str, ...]
    skills: tuple[str, ...]


# fmt: off
# Data tables stay one idea per line; the formatter would give every string its own.
DEPARTMENTS: tuple[_Dept, ...] = (
    _Dept(
        "Engineering", 3.0, "VP of Engineering", "Engineering Manager, {team}",
        ("Platform", "Web", "Mobile", "Infrastructure"),
        ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "Site Reliability Engineer",
         "QA Engineer", "Frontend Engineer", "Backend Engineer", "Mobile Engineer"),
        ("Python", "Django", "TypeScript", "React", "Kotlin", "Swift", "PostgreSQL", "Kubernetes", "Terraform",
         "AWS", "Go", "Rust", "GraphQL", "Observability", "Accessibility", "CI/CD", "Security reviews"),
    ),
    _Dept(
        "Product", 1.2, "Chief Product Officer", "{team} Lead",
        ("Product Management", "Design", "User Research"),
        ("Product Manager", "Senior Product Manager", "Product Designer", "Senior Product Designer",
         "UX Researcher", "Content Designer"),
        ("Roadmapping", "Figma", "User interviews", "Prototyping", "Usability testing", "Design systems",
         "Discovery", "Information architecture", "Accessibility", "Writing"),
    ),
    _Dept(
        "Sales", 2.0, "VP of Sales", "{team} Sales Manager",
        ("Enterprise", "Mid-Market", "Sales Development"),
        ("Account Executive", "Senior Account Executive", "Sales Development Representative",
         "Solutions Engineer", "Sales Operations Analyst"),
        ("Negotiation", "Salesforce", "Forecasting", "Discovery calls", "Solution selling", "Public speaking",
         "Pipeline management", "Spanish", "German", "French"),
    ),
    _Dept(
        "Marketing", 1.0, "Chief Marketing Officer", "Head of {team}",
        ("Brand", "Growth", "Communications"),
        ("Content Marketer", "Growth Marketer", "Brand Designer", "PR Manager", "Marketing Analyst",
         "Events Manager", "Copywriter"),
        ("SEO", "Copywriting", "Google Analytics", "Campaign planning", "Illustration", "Video editing",
         "Social media", "Press relations", "Event planning", "A/B testing"),
    ),
    _Dept(
        "Customer Success", 1.6, "VP of Customer Success", "{team} Manager",
        ("Onboarding", "Support", "Account Management"),
        ("Customer Success Manager", "Support Specialist", "Technical Support Engineer",
         "Implementation Consultant", "Renewals Manager"),
        ("Zendesk", "Onboarding", "Troubleshooting", "SQL", "Training", "Customer empathy", "Renewals",
         "Portuguese", "Japanese", "Documentation"),
    ),
    _Dept(
        "Data & Analytics", 1.0, "Head of Data", "{team} Lead",
        ("Analytics", "Data Science"),
        ("Data Analyst", "Senior Data Analyst", "Data Scientist", "Analytics Engineer", "Machine Learning Engineer"),
        ("SQL", "Python", "dbt", "Statistics", "Machine learning", "Looker", "Experiment design", "Airflow",
         "Data visualisation", "Forecasting"),
    ),
    _Dept(
        "Finance", 0.7, "Chief Financial Officer", "{team} Manager",
        ("Accounting", "FP&A", "Procurement"),
        ("Accountant", "Senior Accountant", "Financial Analyst", "Payroll Specialist", "Procurement Specialist"),
        ("IFRS", "Excel", "Budgeting", "Payroll", "Audit", "NetSuite", "Financial modelling", "Vendor management"),
    ),
    _Dept(
        "People & Culture", 0.7, "Chief People Officer", "{team} Lead",
        ("Talent Acquisition", "People Partners", "Learning & Development"),
        ("Recruiter", "Senior Recruiter", "People Partner", "L&D Specialist", "HR Coordinator"),
        ("Interviewing", "Coaching", "Employment law", "Onboarding", "Facilitation", "Compensation",
         "Diversity & inclusion", "Workday"),
    ),
    _Dept(
        "Operations", 0.7, "Chief Operating Officer", "{team} Manager",
        ("IT", "Workplace", "Business Operations"),
        ("IT Support Specialist", "Systems Administrator", "Workplace Coordinator", "Business Operations Analyst",
         "Office Manager"),
        ("Google Workspace", "Okta", "Macs", "Networking", "Facilities", "Process design", "Vendor management",
         "Travel planning"),
    ),
    _Dept(
        "Legal", 0.5, "General Counsel", "{team} Counsel",
        ("Commercial", "Privacy & Compliance"),
        ("Legal Counsel", "Senior Legal Counsel", "Paralegal", "Privacy Counsel", "Compliance Analyst"),
        ("Contract negotiation", "GDPR", "SOC 2", "Employment law", "Intellectual property", "Policy writing"),
    ),
)


@dataclass(frozen=True)
class _Place:
    name: str
    timezone: str
    phone: str  # '#' is a random digit; UK and North American numbers are in the ranges kept for fiction
    weight: float


LOCATIONS: tuple[_Place, ...] = (
    _Place("London", "Europe/London", "+44 20 7946 0###", 3.0),
    _Place("New York", "America/New_York", "+1 212 555 01##", 2.0),
    _Place("Toronto", "America/Toronto", "+1 416 555 01##", 1.0),
    _Place("São Paulo", "America/Sao_Paulo", "+55 11 9####-####", 1.0),
    _Place("Berlin", "Europe/Berlin", "+49 30 ########", 1.4),
    _Place("Copenhagen", "Europe/Copenhagen", "+45 ## ## ## ##", 0.8),
    _Place("Nairobi", "Africa/Nairobi", "+254 20 ### ####", 0.7),
    _Place("Bengaluru", "Asia/Kolkata", "+91 80 #### ####", 1.2),
    _Place("Singapore", "Asia/Singapore", "+65 6### ####", 0.8),
    _Place("Sydney", "Australia/Sydney", "+61 2 9### ####", 0.8),
)

# (first name, the pronouns it usually goes with: f / m / n)
FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("José", "m"), ("Zoë", "f"), ("Søren", "m"), ("Chloé", "f"), ("Björn", "m"), ("Ana", "f"), ("Łukasz", "m"),
    ("Siobhán", "f"), ("Ngozi", "f"), ("Hiroshi", "m"), ("Priya", "f"), ("Oluwaseun", "m"), ("Mei", "f"),
    ("Rafael", "m"), ("Inês", "f"), ("François", "m"), ("Renée", "f"), ("Kåre", "m"), ("Agnieszka", "f"),
    ("Mateo", "m"), ("Lucía", "f"), ("Thảo", "f"), ("Anaïs", "f"), ("Jürgen", "m"), ("Zoltán", "m"),
    ("Ayşe", "f"), ("Øyvind", "m"), ("Ingrid", "f"), ("Astrid", "f"), ("Fatima", "f"), ("Omar", "m"),
    ("Amina", "f"), ("Kwame", "m"), ("Aaliyah", "f"), ("Darnell", "m"), ("Leilani", "f"), ("Arjun", "m"),
    ("Ananya", "f"), ("Rohan", "m"), ("Wei", "n"), ("Jun", "n"), ("Yuki", "n"), ("Min-jun", "m"),
    ("Ji-woo", "n"), ("Alex", "n"), ("Sam", "n"), ("Robin", "n"), ("Charlie", "n"), ("Kai", "n"),
    ("River", "n"), ("Jordan", "n"), ("Katherine", "f"), ("Alexander", "m"), ("Margaret", "f"),
    ("Guillermo", "m"), ("Aleksandra", "f"), ("Francesca", "f"), ("Nikolaos", "m"), ("Jonathan", "m"),
    ("Elizabeth", "f"), ("Benjamin", "m"), ("Noémie", "f"), ("Dário", "m"), ("Mariana", "f"), ("Tomás", "m"),
    ("Chiara", "f"), ("Luca", "m"), ("Elif", "f"), ("Mehmet", "m"), ("Aroha", "f"), ("Tane", "m"),
    ("Nadia", "f"), ("Yusuf", "m"), ("Leila", "f"), ("Dmitri", "m"), ("Olga", "f"), ("Mikael", "m"),
    ("Saoirse", "f"), ("Cian", "m"), ("Grace", "f"), ("Daniel", "m"), ("Emily", "f"), ("Marcus", "m"),
    ("Hannah", "f"), ("Isaac", "m"), ("Naomi", "f"), ("Gabriel", "m"), ("Valentina", "f"), ("Diego", "m"),
    ("Camila", "f"), ("Sebastián", "m"), ("Aisha", "f"), ("Tariq", "m"), ("Sunita", "f"), ("Vikram", "m"),
    ("Lakshmi", "f"), ("Anh", "n"), ("Minh", "m"), ("Linh", "f"), ("Sione", "m"), ("Mele", "f"),
    ("Eero", "m"), ("Aino", "f"), ("Matti", "m"), ("Liisa", "f"), ("Bongani", "m"), ("Thandiwe", "f"),
    ("Chidi", "m"), ("Adaeze", "f"), ("Kofi", "m"), ("Abena", "f"), ("Malik", "m"), ("Imani", "f"),
)
SURNAMES: tuple[str, ...] = (
    "García", "Müller", "Nowak", "O'Brien", "Søndergaard", "Nguyễn", "Okafor", "Mensah", "Haddad", "Kowalski",
    "Fernández", "Rossi", "Dubois", "Björk", "Yılmaz", "Takahashi", "Kim", "Patel", "Sharma", "Chen", "Wang",
    "Silva", "Costa", "Novák", "Horváth", "Mäkinen", "Virtanen", "Andersen", "Jensen", "Lindqvist", "Ólafsdóttir",
    "Schmidt", "Weber", "Lefèvre", "Moreau", "Bianchi", "Romano", "Papadopoulos", "Ivanova", "Petrov", "Kovačević",
    "Popescu", "Szabó", "Dvořák", "Hansen", "Nakamura", "Suzuki", "Park", "Lee", "Choi", "Singh", "Gupta", "Iyer",
    "Reddy", "Das", "Huang", "Liu", "Zhang", "Tran", "Pham", "Santos", "Oliveira", "Pereira", "Rodríguez",
    "Martínez", "López", "Hernández", "González", "Ramírez", "Smith", "Johnson", "Williams", "Brown", "Taylor",
    "Davies", "Evans", "Thomas", "Walsh", "Murphy", "Kelly", "MacLeod", "Campbell", "Adeyemi", "Okonkwo",
    "Abubakar", "Diallo", "Ndlovu", "Dlamini", "Mwangi", "Otieno", "Kamau", "Haile", "Tesfaye", "Cohen", "Levi",
    "Rahman", "Hussain", "Aziz", "Karimi", "Tawhiri", "Ngata", "Fifita", "Alvarez", "Jovanović", "Horvat",
)
PREFERRED = {
    "Katherine": "Kate", "Alexander": "Sasha", "Oluwaseun": "Seun", "Margaret": "Maggie", "Guillermo": "Memo",
    "Aleksandra": "Ola", "Francesca": "Fran", "Nikolaos": "Nikos", "Jonathan": "Jon", "Elizabeth": "Liz",
    "Benjamin": "Ben", "Sebastián": "Seba", "Valentina": "Vale",
}
PRONOUNS = {"f": "she/her", "m": "he/him", "n": "they/them"}
GENERAL_SKILLS = (
    "Mentoring", "Public speaking", "Project management", "Spanish", "German", "French", "Mandarin",
    "Hindi", "Arabic", "Portuguese", "Facilitation", "Writing",
)
INTERESTS = (
    "Running", "Cycling", "Climbing", "Photography", "Board games", "Chess", "Cooking", "Baking", "Gardening",
    "Jazz", "Choir", "Hiking", "Yoga", "Football", "Basketball", "Sailing", "Podcasts", "Science fiction",
    "Knitting", "Volunteering", "Languages", "Travel", "Film", "Birdwatching", "Pottery", "Coffee", "Reading",
    "Guitar", "Piano", "Open source", "Swimming", "Dogs", "Cats", "Theatre", "Salsa",
)
HOURS = ((9, 0, 17, 30), (8, 30, 17, 0), (10, 0, 18, 30), (8, 0, 16, 0), (9, 0, 18, 0), (7, 30, 15, 30))
BIOS = (
    "I look after {team} work from our {location} office. Ask me about {skill} – or {interest}, if it's Friday.",
    "Joined Northwind in {year}. Most days: {skill} and {skill2}. Outside work you'll find me {interest_lc}.",
    "Based in {location}. Happy to pair on anything {skill}-related, and always up for a chat about {interest_lc}.",
    "In {department} since {year}. Before Northwind I spent a few years in consulting. Currently learning {skill2}.",
    "New questions welcome! I can help with {skill}, {skill2} and finding your way around {location}.",
)
# fmt: on
_ASCII = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ı": "i", "œ": "oe", "þ": "th", "ð": "d"})


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    preferred_name: str
    role: str
    guidelines_accepted: bool
    title: str
    department: str | None
    team: str | None
    location: str
    manager: int | None  # index into the generated list
    pronouns: str
    phone: str
    timezone: str
    working_hours: tuple[clock, clock] | None
    start_date: date
    skills: tuple[str, ...]
    interests: tuple[str, ...]
    bio: str


@dataclass
class DemoResult:
    people: int
    departments: int
    teams: int
    locations: int
    password: str
    credentials_path: Path
    admin_email: str = ADMIN_EMAIL
    member_email: str = MEMBER_EMAIL
    seconds: float = 0.0
    sign_in: str = field(default="")


def _email_local(first: str, last: str) -> str:
    def clean(part: str) -> str:
        return re.sub(r"[^a-z0-9]", "", fold(part).translate(_ASCII))

    return f"{clean(first)}.{clean(last)}"


def _digits(pattern: str, rng: Random) -> str:
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in pattern)


@dataclass
class _Slot:
    kind: str  # ceo, head, lead, member
    dept: _Dept | None = None
    team: str | None = None
    manager: int | None = None
    manages: bool = False


def _slots(people: int, rng: Random) -> list[_Slot]:
    """The org chart: CEO, department heads, one lead per team, then members spread
    over teams by department weight, each team a tree FANOUT wide under its lead."""
    slots = [_Slot("ceo")]
    heads: dict[str, int] = {}
    for dept in DEPARTMENTS:
        heads[dept.name] = len(slots)
        slots.append(_Slot("head", dept, manager=0))
    leads: dict[tuple[str, str], int] = {}
    for dept in DEPARTMENTS:
        for team in dept.teams:
            leads[(dept.name, team)] = len(slots)
            slots.append(_Slot("lead", dept, team, manager=heads[dept.name]))
    teams = [(dept, team) for dept in DEPARTMENTS for team in dept.teams]
    weights = [dept.weight / len(dept.teams) for dept, _ in teams]
    # The two known accounts come first: the admin in IT, the member in Web.
    forced = [
        (next(d for d in DEPARTMENTS if d.name == "Operations"), "IT"),
        (next(d for d in DEPARTMENTS if d.name == "Engineering"), "Web"),
    ]
    members: dict[tuple[str, str], list[int]] = {}
    for position in range(people - len(slots)):
        dept, team = forced[position] if position < len(forced) else rng.choices(teams, weights)[0]
        in_team = members.setdefault((dept.name, team), [])
        k = len(in_team)
        manager = leads[(dept.name, team)] if k < FANOUT else in_team[(k - FANOUT) // FANOUT]
        slots[manager].manages = True
        in_team.append(len(slots))
        slots.append(_Slot("member", dept, team, manager=manager))
    for lead in leads.values():
        slots[lead].manages = True
    return slots


def _title(slot: _Slot, rng: Random) -> str:
    if slot.kind == "ceo":
        return "Chief Executive Officer"
    assert slot.dept is not None
    if slot.kind == "head":
        return slot.dept.head_title
    if slot.kind == "lead":
        return slot.dept.lead_title.format(team=slot.team)
    title = rng.choice(slot.dept.titles)
    if slot.manages:
        return "Lead " + title.removeprefix("Senior ")
    return title


def generate_people(*, people: int, seed: int, today: date) -> list[DemoPerson]:
    """The demo organisation's people, a pure function of its arguments. Index 0 is
    the CEO; every other person's manager comes earlier in the list."""
    if not MIN_PEOPLE <= people <= MAX_PEOPLE:
        raise ValidationFailed(f"The demo organisation has between {MIN_PEOPLE} and {MAX_PEOPLE:,} people.")
    rng = Random(seed)
    slots = _slots(people, rng)
    member_positions = [i for i, s in enumerate(slots) if s.kind == "member"]
    known = {member_positions[0]: (ADMIN_EMAIL, "Alex Admin"), member_positions[1]: (MEMBER_EMAIL, "Sam Member")}
    new_joiners = set(rng.sample(member_positions[2:], k=max(5, len(member_positions) // 25)))
    emails: set[str] = {ADMIN_EMAIL, MEMBER_EMAIL}
    result: list[DemoPerson] = []
    for index, slot in enumerate(slots):
        first, gender = rng.choice(FIRST_NAMES)
        last = rng.choice(SURNAMES)
        full_name = f"{first} {last}"
        preferred = PREFERRED[first] if first in PREFERRED and rng.random() < 0.6 else ""
        if index in known:
            email, full_name = known[index]
            first, preferred, gender = full_name.split()[0], "", "n"
        else:
            local = _email_local(first, last)
            email, n = f"{local}@{DOMAIN}", 1
            while email in emails:
                n += 1
                email = f"{local}{n}@{DOMAIN}"
        emails.add(email)
        place = LOCATIONS[0] if slot.kind == "ceo" else rng.choices(LOCATIONS, [p.weight for p in LOCATIONS])[0]
        if index == 0:
            days_ago = HISTORY_DAYS - rng.randrange(20)
        elif slot.kind == "head":
            days_ago = rng.randrange(HISTORY_DAYS // 2, HISTORY_DAYS - 30)
        elif slot.kind == "lead":
            days_ago = rng.randrange(365, HISTORY_DAYS - 60)
        elif index in new_joiners:
            days_ago = rng.randrange(1, 30)
        else:
            days_ago = rng.randrange(31, HISTORY_DAYS - 60)
        start = today - timedelta(days=days_ago)
        title = "Workplace Systems Administrator" if email == ADMIN_EMAIL else _title(slot, rng)
        pool = slot.dept.skills if slot.dept else ("Strategy", "Fundraising", "Public speaking", "Leadership")
        skills = tuple(rng.sample(pool, k=min(len(pool), rng.randint(3, 6))))
        if rng.random() < 0.3:
            extra = rng.choice(GENERAL_SKILLS)
            skills += () if extra in skills else (extra,)
        interests = tuple(rng.sample(INTERESTS, k=rng.randint(2, 5))) if rng.random() < 0.85 else ()
        hours = rng.choice(HOURS)
        working_hours = (clock(hours[0], hours[1]), clock(hours[2], hours[3])) if rng.random() < 0.8 else None
        bio = ""
        if rng.random() < 0.4 or index == 0:
            bio = rng.choice(BIOS).format(
                team=slot.team or (slot.dept.name if slot.dept else "company-wide"),
                location=place.name,
                skill=skills[0],
                skill2=skills[-1],
                interest=interests[0] if interests else "the weekend",
                year=start.year,
                interest_lc=(interests[0] if interests else "travel").lower(),
                department=slot.dept.name if slot.dept else "the leadership team",
            )
        result.append(
            DemoPerson(
                email=email,
                full_name=full_name,
                preferred_name=preferred,
                role=Role.ADMIN if email == ADMIN_EMAIL else Role.MEMBER,
                guidelines_accepted=email != MEMBER_EMAIL,
                title=title,
                department=slot.dept.name if slot.dept else None,
                team=slot.team,
                location=place.name,
                manager=slot.manager,
                pronouns=PRONOUNS[gender] if rng.random() < 0.45 else "",
                phone=_digits(place.phone, rng),
                timezone=place.timezone,
                working_hours=working_hours,
                start_date=start,
                skills=skills,
                interests=interests,
                bio=bio,
            )
        )
    return result


# --- Credentials ---------------------------------------------------------------------


def credentials_path() -> Path:
    return Path(settings.ENV.var_dir) / CREDENTIALS_FILE


def sign_in_line(password: str) -> str:
    return f"Sign in at {settings.BASE_URL}/signin as {ADMIN_EMAIL} or {MEMBER_EMAIL} with password {password}"


def saved_password(path: Path | None = None) -> str | None:
    """The demo password from the credentials file, or None when there is none."""
    path = path or credentials_path()
    try:
        match = re.search(r"with password (\S+)", path.read_text(encoding="utf-8"))
    except OSError:
        return None
    return match.group(1) if match else None


def _save_password(path: Path, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # the file may have existed with a wider mode
        handle.write(sign_in_line(password) + "\n")


# --- Writing -------------------------------------------------------------------------


def _reference(model: Any, names: Iterable[str]) -> dict[str, int]:
    """Ids by name of a name-keyed model (Department, Location, Tag), creating the missing rows in one insert."""
    existing = dict(model.objects.values_list("name", "id"))
    missing = sorted(set(names) - set(existing))
    model.objects.bulk_create([model(name=name) for name in missing])
    return dict(model.objects.values_list("name", "id"))


def build_demo(
    *, people: int = 160, seed: int = 7, today: date | None = None, credentials: Path | None = None
) -> DemoResult:
    """Load the demo organisation into a database that has no users yet.

    Raises Conflict when people already exist (nothing is written). The password is
    the one already saved in the credentials file, or a new random one; the file is
    written *before* the data is committed so a crash can never leave demo accounts
    whose password nobody knows (a leftover file is simply reused next time).
    """
    started = time.perf_counter()
    if User.objects.exists():
        raise Conflict("The database already has people in it; the demo organisation is only loaded into an empty one.")
    today = today or timezone.localdate()
    generated = generate_people(people=people, seed=seed, today=today)
    path = credentials or credentials_path()
    password = saved_password(path) or secrets.token_urlsafe(12)
    _save_password(path, password)
    hashed = make_password(password)  # once: every demo person shares it
    now = timezone.now()

    with transaction.atomic():
        org = organisation_get()
        Organisation.objects.filter(pk=org.pk).update(
            name=ORG_NAME, allowed_domains=[DOMAIN], guidelines=GUIDELINES, guidelines_version=1, updated_at=now
        )
        departments = _reference(Department, (d.name for d in DEPARTMENTS))
        locations = _reference(Location, (p.name for p in LOCATIONS))
        existing_teams = {(t.department_id, t.name): t.pk for t in Team.objects.all()}
        Team.objects.bulk_create(
            [
                Team(department_id=departments[d.name], name=team)
                for d in DEPARTMENTS
                for team in d.teams
                if (departments[d.name], team) not in existing_teams
            ]
        )
        teams = {(t.department_id, t.name): t.pk for t in Team.objects.all()}
        tags = _reference(Tag, {t for p in generated for t in (*p.skills, *p.interests)})

        User.objects.bulk_create(
            [
                User(
                    email=p.email,
                    full_name=p.full_name,
                    preferred_name=p.preferred_name,
                    role=p.role,
                    password=hashed,
                    date_joined=now,
                    guidelines_version_accepted=1 if p.guidelines_accepted else 0,
                )
                for p in generated
            ],
            batch_size=1000,
        )
        ids = dict(User.objects.values_list("email", "id"))
        profiles = []
        for p in generated:
            department_id = departments[p.department] if p.department else None
            search_text, sort_name = search_text_for(
                full_name=p.full_name,
                preferred_name=p.preferred_name,
                email=p.email,
                title=p.title,
                department=p.department or "",
                team=p.team or "",
                skills=p.skills,
            )
            profiles.append(
                Profile(
                    user_id=ids[p.email],
                    pronouns=p.pronouns,
                    title=p.title,
                    department_id=department_id,
                    team_id=teams[(department_id, p.team)] if department_id and p.team else None,
                    location_id=locations[p.location],
                    manager_id=ids[generated[p.manager].email] if p.manager is not None else None,
                    phone=p.phone,
                    bio=p.bio,
                    timezone=p.timezone,
                    working_hours_start=p.working_hours[0] if p.working_hours else None,
                    working_hours_end=p.working_hours[1] if p.working_hours else None,
                    start_date=p.start_date,
                    search_text=search_text,
                    sort_name=sort_name,
                )
            )
        Profile.objects.bulk_create(profiles, batch_size=1000)
        Skill, Interest = Profile.skills.through, Profile.interests.through
        Skill.objects.bulk_create(
            [Skill(profile_id=ids[p.email], tag_id=tags[t]) for p in generated for t in p.skills], batch_size=2000
        )
        Interest.objects.bulk_create(
            [Interest(profile_id=ids[p.email], tag_id=tags[t]) for p in generated for t in p.interests],
            batch_size=2000,
        )
    return DemoResult(
        people=len(generated),
        departments=len(DEPARTMENTS),
        teams=sum(len(d.teams) for d in DEPARTMENTS),
        locations=len(LOCATIONS),
        password=password,
        credentials_path=path,
        seconds=time.perf_counter() - started,
        sign_in=sign_in_line(password),
    )
