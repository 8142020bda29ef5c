"""The demo agency, as data: who works there, for whom, on what, at what rates.

Everything is fixed (no randomness), so two demos look alike and a test can recompute
the figures. Dates are relative to the week the demo is made in (`Calendar`).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TEAM_NAME = "Northwind Studio"
TIMEZONE = "Europe/Madrid"
BASE_CURRENCY = "EUR"
# One password for every demo login (printed once per run).
PASSWORD = "hourline-demo"
DOMAIN = "northwind.example.com"


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    role: str
    # What an hour of this person costs the agency (EUR cents); None: logs no time.
    cost_rate: int | None = None

    @property
    def email(self) -> str:
        return f"{self.key}@{DOMAIN}"


# The superadmin first: it owns the team and drives the API for the others.
PEOPLE = (
    Person("ada", "Ada Ortiz", "superadmin", cost_rate=6000),
    Person("olga", "Olga Nilsen", "org_manager", cost_rate=5500),
    Person("sam", "Sam Reyes", "sales_manager"),
    Person("rita", "Rita Moreau", "sales_rep"),
    Person("pablo", "Pablo Ruiz", "project_manager", cost_rate=4500),
    Person("mia", "Mia Chen", "member", cost_rate=3500),
)
OWNER = PEOPLE[0]
LOGGERS = tuple(p for p in PEOPLE if p.cost_rate is not None)
# On every project (besides the superadmin, who made it): the project manager manages,
# the others who log time work on it.
PROJECT_STAFF = (("pablo", "manager"), ("mia", "member"), ("olga", "member"))


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    title: str
    billing: bool = False
    portal: bool = False
    activity: str | None = None  # a note logged on the contact


@dataclass(frozen=True)
class Project:
    key: str
    name: str
    # (title, column kind or name, estimate hours, assignee key)
    tasks: tuple[tuple[str, str, int | None, str | None], ...] = ()
    hourly_rate_amount: int | None = None
    budget_hours: int | None = None
    billable: bool = True
    # A column added to the default board (To do, In progress, Done), before Done.
    extra_column: str | None = None


@dataclass(frozen=True)
class Client:
    key: str
    name: str
    currency: str
    hourly_rate_amount: int
    owner: str
    email: str
    address: str
    # The first project is created with the client (onboarding), the rest after it.
    projects: tuple[Project, ...]
    contacts: tuple[Contact, ...]
    tax_rate_bps: int = 0
    payment_methods: tuple[str, ...] = ("bank",)
    # Units of the base currency per unit of this currency.
    exchange_rate: str | None = None


CLIENTS = (
    Client(
        "lumen",
        "Lumen GmbH",
        "EUR",
        9500,
        owner="sam",
        email="accounts@lumen.example.com",
        address="Torstraße 140, 10119 Berlin, Germany",
        tax_rate_bps=1900,
        payment_methods=("bank", "stripe"),
        projects=(
            Project(
                "website",
                "Website relaunch",
                tasks=(
                    ("Content inventory", "done", 8, "mia"),
                    ("Wireframes", "done", 16, "pablo"),
                    ("Visual design", "Review", 24, "ada"),
                    ("CMS templates", "in_progress", 40, "mia"),
                    ("Accessibility audit", "todo", 12, "olga"),
                    ("Launch checklist", "todo", 4, "pablo"),
                ),
                budget_hours=240,
                extra_column="Review",
            ),
            Project(
                "brand",
                "Brand guidelines",
                tasks=(
                    ("Logo refresh", "done", 12, "ada"),
                    ("Type scale", "in_progress", 6, "mia"),
                    ("Guidelines PDF", "todo", 10, "pablo"),
                ),
                hourly_rate_amount=11000,
                budget_hours=80,
            ),
        ),
        contacts=(
            Contact(
                "Lena Vogel",
                "lena@lumen.example.com",
                "Head of Marketing",
                billing=True,
                portal=True,
                activity="Kick-off: wants the new site live before the trade fair.",
            ),
            Contact("Jonas Weber", "jonas@lumen.example.com", "CFO"),
        ),
    ),
    Client(
        "harbor",
        "Harbor & Pine Inc.",
        "USD",
        12000,
        owner="rita",
        email="ap@harborpine.example.com",
        address="88 Pier Street, Portland, OR 97209, USA",
        payment_methods=("bank", "stripe", "crypto"),
        exchange_rate="0.92",
        projects=(
            Project(
                "mobile",
                "Mobile app",
                tasks=(
                    ("Onboarding flow", "done", 20, "mia"),
                    ("Push notifications", "in_progress", 16, "olga"),
                    ("Offline mode", "todo", 30, "mia"),
                    ("App Store listing", "todo", 4, None),
                ),
                budget_hours=300,
            ),
        ),
        contacts=(
            Contact(
                "Grace Miller",
                "grace@harborpine.example.com",
                "Product Owner",
                billing=True,
                activity="Call: the invoice of the first sprint is with their AP team.",
            ),
            Contact("Tom Baker", "tom@harborpine.example.com", "CTO"),
        ),
    ),
    Client(
        "sakura",
        "Sakura Foods K.K.",
        "JPY",
        15000,
        owner="sam",
        email="keiri@sakurafoods.example.com",
        address="1-2-3 Shibuya, Tokyo 150-0002, Japan",
        exchange_rate="0.0062",
        projects=(
            Project(
                "store",
                "Online store",
                tasks=(
                    ("Product catalogue import", "done", 10, "pablo"),
                    ("Checkout", "in_progress", 24, "ada"),
                    ("Gift wrapping option", "todo", 6, "mia"),
                ),
            ),
        ),
        contacts=(
            Contact("Yuki Tanaka", "yuki@sakurafoods.example.com", "E-commerce Lead", billing=True),
            Contact(
                "Kenji Sato",
                "kenji@sakurafoods.example.com",
                "President",
                activity="Meeting in Tokyo: a second store for the Osaka shops next year.",
            ),
        ),
    ),
)

# Work that bills nobody.
INTERNAL = Project(
    "internal",
    "Internal tools",
    tasks=(("Time-tracking habits", "in_progress", None, None),),
    billable=False,
)

# The team's fallback bill rate (EUR cents an hour), and one member's own rate on a
# project (the most specific scope): Ada bills more on the mobile app.
TEAM_BILL_RATE = 9000
PROJECT_MEMBER_RATE = ("mobile", "ada", 15000)

WEEKS = 6
NOTES = (
    "Planning and estimates",
    "Implementation",
    "Review with the client",
    "Bug fixes",
    "Design iteration",
    "Testing",
)


@dataclass(frozen=True)
class Calendar:
    """The demo's six weeks: the full weeks (Monday to Friday, in the team's time zone)
    before the one the demo is made in."""

    this_monday: date
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(TIMEZONE))

    @classmethod
    def now(cls) -> "Calendar":
        today = datetime.now(ZoneInfo(TIMEZONE)).date()
        return cls(today - timedelta(days=today.weekday()))

    def monday(self, week: int) -> date:
        """The Monday of week 1..6 (1: six weeks ago)."""
        return self.this_monday - timedelta(weeks=WEEKS + 1 - week)

    def day(self, week: int, weekday: int) -> date:
        return self.monday(week) + timedelta(days=weekday)

    @property
    def first(self) -> date:
        return self.monday(1)

    @property
    def last(self) -> date:
        return self.day(WEEKS, 4)

    @property
    def workdays(self) -> list[date]:
        return [self.day(w, d) for w in range(1, WEEKS + 1) for d in range(5)]

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A wall-clock time of the team's, in UTC."""
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz).astimezone(UTC)


@dataclass(frozen=True)
class Slot:
    person: str
    project: str
    start: datetime
    seconds: int
    note: str


def time_slots(calendar: Calendar, projects: list[str]) -> list[Slot]:
    """Each logger's two blocks of each workday: a morning on one client project, an
    afternoon on the next project in line (the internal one too), never overlapping."""
    billable = [p for p in projects if p != INTERNAL.key]
    slots = []
    for d, day in enumerate(calendar.workdays):
        for i, person in enumerate(LOGGERS):
            shift = (d * 7 + i * 13) % 5  # quarter hours: 0..60 minutes
            morning = billable[(d + i) % len(billable)]
            afternoon = projects[(d + 2 * i + 1) % len(projects)]
            slots.append(
                Slot(
                    person.key,
                    morning,
                    calendar.at(day, 9, 0) + timedelta(minutes=15 * shift),
                    3 * 3600 - 900 * (shift % 3),
                    NOTES[(d + i) % len(NOTES)],
                )
            )
            slots.append(
                Slot(
                    person.key,
                    afternoon,
                    calendar.at(day, 14, 0) + timedelta(minutes=15 * ((shift + 2) % 5)),
                    2 * 3600 + 1800 * ((d + i) % 3),
                    NOTES[(d + i + 3) % len(NOTES)],
                )
            )
    return slots
