"""Comments as the team API and the portal show them (the portal's written field by
field: no team member's id, never an internal comment)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.comments.models import AuthorType, Comment, CommentVisibility
from app.core.csv_export import CsvColumns
from app.core.schemas import Id, InputSchema, Schema

MAX_BODY = 10_000

Body = Field(
    min_length=1,
    max_length=MAX_BODY,
    description="Markdown, stored as written; `@[Name]` (or `@[email]`) mentions someone "
    "who can read the comment",
)


class CommentIn(InputSchema):
    body: str = Body
    visibility: CommentVisibility = Field(
        default=CommentVisibility.internal,
        description="`internal`: the team only; `client`: also the project's contacts",
    )


class PortalCommentIn(InputSchema):
    body: str = Body


class CommentPatch(InputSchema):
    body: str = Body


def _common(comment: Comment) -> dict[str, Any]:
    """The fields the team's and the portal's comment share, from the row."""
    return {
        "id": comment.id,
        "project_id": comment.project_id,
        "task_id": comment.task_id,
        "body": comment.body,
        "body_html": comment.body_html,
        "deleted": comment.deleted_at is not None,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "edited_at": comment.edited_at,
    }


class CommentAuthor(Schema):
    type: AuthorType
    id: Id | None = Field(description="The user's or contact's id; null once gone")
    name: str


class CommentOut(Schema):
    id: Id
    project_id: Id
    task_id: Id | None = Field(description="Null: the project's own thread")
    body: str = Field(description="Markdown as written (empty once deleted)")
    body_html: str = Field(description="The body rendered and sanitized")
    author: CommentAuthor
    visibility: CommentVisibility
    deleted: bool = Field(description="A tombstone: the thread keeps its shape")
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None

    @classmethod
    def of_comment(cls, comment: Comment) -> "CommentOut":
        author_id = (
            comment.author_user_id
            if comment.author_type == AuthorType.user
            else comment.author_contact_id
        )
        author = CommentAuthor(
            type=AuthorType(comment.author_type), id=author_id, name=comment.author_name
        )
        return cls(**_common(comment), author=author, visibility=comment.visibility)


class PortalCommentAuthor(Schema):
    type: AuthorType
    id: Id | None = Field(
        description="A contact's id; null for the team's people (never named by id here)"
    )
    name: str


class PortalComment(Schema):
    """A client comment as a contact reads it."""

    id: Id
    project_id: Id
    task_id: Id | None
    body: str
    body_html: str
    author: PortalCommentAuthor
    visibility: Literal["client"] = "client"
    deleted: bool
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None

    @classmethod
    def of_comment(cls, comment: Comment) -> "PortalComment":
        by_contact = comment.author_type == AuthorType.contact
        author = PortalCommentAuthor(
            type=AuthorType(comment.author_type),
            id=comment.author_contact_id if by_contact else None,
            name=comment.author_name,
        )
        return cls(**_common(comment), author=author)


class UnsubscribeIn(InputSchema):
    token: str = Field(
        min_length=1, max_length=300, description="From a conversation email's unsubscribe link"
    )


COMMENT_CSV = CsvColumns.of(CommentOut)
PORTAL_COMMENT_CSV = CsvColumns.of(PortalComment)
