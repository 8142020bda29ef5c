from pydantic import Field

from app.core.permissions import Role
from app.core.schemas import Currency, Email, Id, InputSchema, Name, Schema, Timestamps, TimeZone
from app.teams.schemas import TeamOut

Password = Field(min_length=8, max_length=256)


class SignupIn(InputSchema):
    email: Email
    password: str = Password
    name: Name
    team_name: Name
    base_currency: Currency = "EUR"
    timezone: TimeZone = "UTC"


class LoginIn(InputSchema):
    email: Email
    password: str = Field(max_length=256)


class RefreshIn(InputSchema):
    refresh_token: str = Field(max_length=200)


class TokenPair(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class UserOut(Timestamps):
    id: Id
    email: str
    name: str


class SignupOut(TokenPair):
    user: UserOut
    team: TeamOut


class TeamRole(Schema):
    id: Id
    name: str
    role: Role


class MeOut(UserOut):
    teams: list[TeamRole]
