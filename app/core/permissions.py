"""The role -> permission table: the only place in Hourline where roles are named.

Code asks `ctx.access(Permission.X)`, never for a role. Each grant carries an `Access`
reach that services turn into query filters:

- ALL: every row of the team;
- OWN: rows the caller created, owns or is assigned to;
- OWN_CLIENTS: rows belonging to clients the caller owns or is assigned to;
- PROJECTS: rows of projects where the caller is a project member.
"""

from enum import IntEnum, StrEnum
from functools import cache


class Role(StrEnum):
    superadmin = "superadmin"
    org_manager = "org_manager"
    sales_manager = "sales_manager"
    sales_rep = "sales_rep"
    project_manager = "project_manager"
    member = "member"


class Access(IntEnum):
    """How far a grant reaches; a larger value reaches further."""

    OWN = 1
    OWN_CLIENTS = 2
    PROJECTS = 3
    ALL = 9


class Permission(StrEnum):
    TEAM_READ = "team:read"
    TEAM_ADMIN = "team:admin"  # settings, delete team, grant superadmin
    MEMBERS_READ = "members:read"
    MEMBERS_MANAGE = "members:manage"  # members, invitations, roles
    API_KEYS_MANAGE = "api_keys:manage"
    CRM_READ = "crm:read"  # clients, contacts, activities
    CRM_CREATE = "crm:create"
    CRM_WRITE = "crm:write"
    PROJECTS_READ = "projects:read"  # projects, boards, members, viewers
    PROJECTS_CREATE = "projects:create"
    PROJECTS_MANAGE = "projects:manage"
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    COMMENTS_WRITE = "comments:write"  # post (client or internal), edit and delete one's own
    TIME_READ = "time:read"
    TIME_WRITE = "time:write"
    RATES_READ = "rates:read"
    RATES_WRITE = "rates:write"
    INVOICES_READ = "invoices:read"  # invoices, payments, invoice settings
    INVOICES_WRITE = "invoices:write"  # drafts, finalize, send, invoice settings
    INVOICES_VOID = "invoices:void"
    PAYMENTS_WRITE = "payments:write"  # also: who is told of payments
    EXCHANGE_RATES_WRITE = "exchange_rates:write"
    WEBHOOKS_MANAGE = "webhooks:manage"  # outgoing webhook endpoints and their deliveries
    REPORTS_READ = "reports:read"  # time, uninvoiced, revenue, outstanding, profitability


P = Permission
ALL, OWN, CLIENTS, PROJECTS = Access.ALL, Access.OWN, Access.OWN_CLIENTS, Access.PROJECTS
___ = None

# One row per permission, one column per role: "who may void an invoice?" is one line.
_COLUMNS = (
    Role.superadmin,
    Role.org_manager,
    Role.sales_manager,
    Role.sales_rep,
    Role.project_manager,
    Role.member,
)
# fmt: off
_GRID: dict[Permission, tuple[Access | None, ...]] = {
    #                      superadmin org_mgr sales_mgr sales_rep proj_mgr  member
    P.TEAM_READ:            (ALL,     ALL,    ALL,      ALL,      ALL,      ALL),
    P.TEAM_ADMIN:           (ALL,     ___,    ___,      ___,      ___,      ___),
    P.MEMBERS_READ:         (ALL,     ALL,    ALL,      ALL,      ALL,      ALL),
    P.MEMBERS_MANAGE:       (ALL,     ALL,    ___,      ___,      ___,      ___),
    P.API_KEYS_MANAGE:      (ALL,     ALL,    ___,      ___,      ___,      ___),
    P.CRM_READ:             (ALL,     ALL,    ALL,      OWN,      PROJECTS, PROJECTS),
    P.CRM_CREATE:           (ALL,     ALL,    ALL,      ALL,      ___,      ___),
    P.CRM_WRITE:            (ALL,     ALL,    ALL,      OWN,      ___,      ___),
    P.PROJECTS_READ:        (ALL,     ALL,    ALL,      CLIENTS,  PROJECTS, PROJECTS),
    P.PROJECTS_CREATE:      (ALL,     ALL,    ALL,      ___,      ___,      ___),
    P.PROJECTS_MANAGE:      (ALL,     ALL,    ___,      ___,      PROJECTS, ___),
    P.TASKS_READ:           (ALL,     ALL,    ALL,      CLIENTS,  PROJECTS, PROJECTS),
    P.TASKS_WRITE:          (ALL,     ALL,    ALL,      ___,      PROJECTS, PROJECTS),
    P.COMMENTS_WRITE:       (ALL,     ALL,    ALL,      CLIENTS,  PROJECTS, PROJECTS),
    P.TIME_READ:            (ALL,     ALL,    OWN,      OWN,      PROJECTS, OWN),
    P.TIME_WRITE:           (ALL,     ALL,    OWN,      OWN,      OWN,      OWN),
    P.RATES_READ:           (ALL,     ALL,    ALL,      ___,      PROJECTS, OWN),
    P.RATES_WRITE:          (ALL,     ALL,    ___,      ___,      ___,      ___),
    P.INVOICES_READ:        (ALL,     ALL,    ALL,      CLIENTS,  ___,      ___),
    P.INVOICES_WRITE:       (ALL,     ALL,    ALL,      ___,      ___,      ___),
    P.INVOICES_VOID:        (ALL,     ALL,    ___,      ___,      ___,      ___),
    P.PAYMENTS_WRITE:       (ALL,     ALL,    ___,      ___,      ___,      ___),
    P.EXCHANGE_RATES_WRITE: (ALL,     ALL,    ___,      ___,      ___,      ___),
    P.WEBHOOKS_MANAGE:      (ALL,     ALL,    ___,      ___,      ___,      ___),
    P.REPORTS_READ:         (ALL,     ALL,    ALL,      CLIENTS,  PROJECTS, OWN),
}
# fmt: on

ROLE_PERMISSIONS: dict[Role, dict[Permission, Access]] = {
    role: {p: row[i] for p, row in _GRID.items() if row[i] is not None}  # type: ignore[misc]
    for i, role in enumerate(_COLUMNS)
}


def roles_with(permission: Permission) -> list[Role]:
    """The roles granted `permission` (for queries such as "who is told of payments")."""
    return [role for role, grants in ROLE_PERMISSIONS.items() if permission in grants]


def access_of(role: Role, permission: Permission) -> Access | None:
    return ROLE_PERMISSIONS[role].get(permission)


def role_within(role: Role, ceiling: Role) -> bool:
    """True when `role` grants nothing that `ceiling` does not (each grant no wider)."""
    mine, cap = ROLE_PERMISSIONS[role], ROLE_PERMISSIONS[ceiling]
    return all(p in cap and a <= cap[p] for p, a in mine.items())


@cache  # a few role pairs, asked on every request made with an API key
def key_role(key: Role, creator: Role) -> Role | None:
    """The role an API key acts with: its own, narrowed to its creator's current role.

    Reaches are not nested (own clients vs their projects), so a key whose role and its
    creator's are not one within the other acts with neither: None (suspended).
    """
    if role_within(key, creator):
        return key
    if role_within(creator, key):
        return creator
    return None


def may_assign_role(actor: Role, role: Role) -> bool:
    """Who may grant (invite, promote to) `role`: only a superadmin grants superadmin."""
    if access_of(actor, Permission.MEMBERS_MANAGE) is None:
        return False
    return role is not Role.superadmin or access_of(actor, Permission.TEAM_ADMIN) is not None


def may_manage_member(actor: Role, target: Role) -> bool:
    """Managers act on members below superadmin; only a superadmin touches a superadmin."""
    return may_assign_role(actor, target)
