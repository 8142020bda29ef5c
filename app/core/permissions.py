"""The role -> permission table: the only place in Hourline where roles are named.

Code asks `ctx.access(Permission.X)` (or depends on `require(Permission.X)`), never for a
role. Each grant carries an `Access` reach that services turn into query filters:

- ALL: every row of the team;
- OWN: rows the caller created, owns or is assigned to;
- OWN_CLIENTS: rows belonging to clients the caller owns or is assigned to;
- PROJECTS: rows of projects where the caller is a project member.
"""

from enum import IntEnum, StrEnum


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
    TIME_READ = "time:read"
    TIME_WRITE = "time:write"
    RATES_READ = "rates:read"
    RATES_WRITE = "rates:write"
    INVOICES_READ = "invoices:read"  # invoices, payments, invoice settings
    INVOICES_WRITE = "invoices:write"  # drafts, finalize, send, invoice settings
    INVOICES_VOID = "invoices:void"
    PAYMENTS_WRITE = "payments:write"
    EXCHANGE_RATES_WRITE = "exchange_rates:write"
    REPORTS_READ = "reports:read"


P, A = Permission, Access

_EVERYTHING = {p: A.ALL for p in Permission}

ROLE_PERMISSIONS: dict[Role, dict[Permission, Access]] = {
    Role.superadmin: dict(_EVERYTHING),
    Role.org_manager: {p: a for p, a in _EVERYTHING.items() if p is not P.TEAM_ADMIN},
    Role.sales_manager: {
        P.TEAM_READ: A.ALL,
        P.MEMBERS_READ: A.ALL,
        P.CRM_READ: A.ALL,
        P.CRM_CREATE: A.ALL,
        P.CRM_WRITE: A.ALL,
        P.PROJECTS_READ: A.ALL,
        P.PROJECTS_CREATE: A.ALL,
        P.TASKS_READ: A.ALL,
        P.TASKS_WRITE: A.ALL,
        P.TIME_READ: A.OWN,
        P.TIME_WRITE: A.OWN,
        P.RATES_READ: A.ALL,
        P.INVOICES_READ: A.ALL,
        P.INVOICES_WRITE: A.ALL,
        P.REPORTS_READ: A.ALL,
    },
    Role.sales_rep: {
        P.TEAM_READ: A.ALL,
        P.MEMBERS_READ: A.ALL,
        P.CRM_READ: A.OWN,
        P.CRM_CREATE: A.ALL,
        P.CRM_WRITE: A.OWN,
        P.PROJECTS_READ: A.OWN_CLIENTS,
        P.TASKS_READ: A.OWN_CLIENTS,
        P.TIME_READ: A.OWN,
        P.TIME_WRITE: A.OWN,
        P.INVOICES_READ: A.OWN_CLIENTS,
        P.REPORTS_READ: A.OWN_CLIENTS,
    },
    Role.project_manager: {
        P.TEAM_READ: A.ALL,
        P.MEMBERS_READ: A.ALL,
        P.CRM_READ: A.PROJECTS,
        P.PROJECTS_READ: A.PROJECTS,
        P.PROJECTS_MANAGE: A.PROJECTS,
        P.TASKS_READ: A.PROJECTS,
        P.TASKS_WRITE: A.PROJECTS,
        P.TIME_READ: A.PROJECTS,
        P.TIME_WRITE: A.OWN,
        P.RATES_READ: A.PROJECTS,
        P.REPORTS_READ: A.PROJECTS,
    },
    Role.member: {
        P.TEAM_READ: A.ALL,
        P.MEMBERS_READ: A.ALL,
        P.CRM_READ: A.PROJECTS,
        P.PROJECTS_READ: A.PROJECTS,
        P.TASKS_READ: A.PROJECTS,
        P.TASKS_WRITE: A.PROJECTS,
        P.TIME_READ: A.OWN,
        P.TIME_WRITE: A.OWN,
        P.RATES_READ: A.OWN,
        P.REPORTS_READ: A.OWN,
    },
}


def access_of(role: Role, permission: Permission) -> Access | None:
    return ROLE_PERMISSIONS[role].get(permission)


def role_within(role: Role, ceiling: Role) -> bool:
    """True when `role` grants nothing that `ceiling` does not (each grant no wider)."""
    mine, cap = ROLE_PERMISSIONS[role], ROLE_PERMISSIONS[ceiling]
    return all(p in cap and a <= cap[p] for p, a in mine.items())


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
