"""Comments: the team's routes under a project, and the portal's for its contacts."""

import uuid

from fastapi import status

from app.auth.dependencies import PortalCtx, TeamCtx
from app.comments import service
from app.comments.schemas import (
    COMMENT_CSV,
    PORTAL_COMMENT_CSV,
    CommentIn,
    CommentOut,
    CommentPatch,
    PortalComment,
    PortalCommentIn,
    UnsubscribeIn,
)
from app.comments.unsubscribe import unsubscribe as turn_emails_off
from app.core.csv_export import CSV_RESPONSES, CsvResponse, FormatQuery, list_response
from app.core.deps import DbSession, RedisDep, SecretsDep
from app.core.pagination import Page, PageQuery
from app.core.routing import APIRouter

router = APIRouter(prefix="/teams/{team_id}/projects/{project_id}", tags=["comments"])
portal_router = APIRouter(prefix="/portal", tags=["portal"])
# No login: the token in a digest email's link is the credential.
public_router = APIRouter(tags=["portal"])

# ---------------------------------------------------------------- team


@router.get("/comments", response_model=Page[CommentOut], responses=CSV_RESPONSES)
async def list_project_comments(
    project_id: uuid.UUID, ctx: TeamCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[CommentOut] | CsvResponse:
    """The project's thread, oldest first: client and internal comments, tombstones too."""
    listing = await service.list_comments(session, ctx, project_id, None)
    return await list_response(session, listing, page, fmt, COMMENT_CSV, "comments.csv")


@router.post("/comments", status_code=status.HTTP_201_CREATED, response_model=CommentOut)
async def create_project_comment(
    project_id: uuid.UUID, data: CommentIn, ctx: TeamCtx, session: DbSession, redis: RedisDep
) -> CommentOut:
    """Comment on the project's thread (`internal` unless `visibility: client`)."""
    return await service.post_comment(session, redis, ctx, project_id, None, data)


@router.patch("/comments/{comment_id}", response_model=CommentOut)
async def update_comment(
    project_id: uuid.UUID,
    comment_id: uuid.UUID,
    data: CommentPatch,
    ctx: TeamCtx,
    session: DbSession,
) -> CommentOut:
    """Edit one's own comment (any thread of the project) within 15 minutes."""
    return await service.edit_comment(session, ctx, project_id, None, comment_id, data.body)


@router.delete("/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_comment(
    project_id: uuid.UUID, comment_id: uuid.UUID, ctx: TeamCtx, session: DbSession
) -> None:
    """Delete a comment (one's own within 15 minutes; a manager any): a tombstone stays."""
    await service.delete_comment(session, ctx, project_id, None, comment_id)


@router.get("/tasks/{task_id}/comments", response_model=Page[CommentOut], responses=CSV_RESPONSES)
async def list_task_comments(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    ctx: TeamCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
) -> Page[CommentOut] | CsvResponse:
    """A task's comments, oldest first: client and internal, tombstones too."""
    listing = await service.list_comments(session, ctx, project_id, task_id)
    return await list_response(session, listing, page, fmt, COMMENT_CSV, "comments.csv")


@router.post(
    "/tasks/{task_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentOut
)
async def create_task_comment(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    data: CommentIn,
    ctx: TeamCtx,
    session: DbSession,
    redis: RedisDep,
) -> CommentOut:
    """Comment on a task (`internal` unless `visibility: client`)."""
    return await service.post_comment(session, redis, ctx, project_id, task_id, data)


@router.patch("/tasks/{task_id}/comments/{comment_id}", response_model=CommentOut)
async def update_task_comment(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    comment_id: uuid.UUID,
    data: CommentPatch,
    ctx: TeamCtx,
    session: DbSession,
) -> CommentOut:
    """Edit one's own comment on the task within 15 minutes."""
    return await service.edit_comment(session, ctx, project_id, task_id, comment_id, data.body)


@router.delete("/tasks/{task_id}/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task_comment(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    comment_id: uuid.UUID,
    ctx: TeamCtx,
    session: DbSession,
) -> None:
    """Delete a comment on the task (one's own within 15 minutes; a manager any)."""
    await service.delete_comment(session, ctx, project_id, task_id, comment_id)


# ---------------------------------------------------------------- portal


@portal_router.get(
    "/projects/{project_id}/comments", response_model=Page[PortalComment], responses=CSV_RESPONSES
)
async def list_comments(
    project_id: uuid.UUID, ctx: PortalCtx, session: DbSession, page: PageQuery, fmt: FormatQuery
) -> Page[PortalComment] | CsvResponse:
    """The project's thread as the contact reads it: client comments only."""
    listing = await service.list_portal_comments(session, ctx, project_id, None)
    return await list_response(session, listing, page, fmt, PORTAL_COMMENT_CSV, "comments.csv")


@portal_router.post(
    "/projects/{project_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=PortalComment,
)
async def create_comment(
    project_id: uuid.UUID,
    data: PortalCommentIn,
    ctx: PortalCtx,
    session: DbSession,
    redis: RedisDep,
) -> PortalComment:
    """A collaborator comments on the project's thread (viewers may not: 403)."""
    return await service.post_portal_comment(session, redis, ctx, project_id, None, data.body)


@portal_router.patch("/projects/{project_id}/comments/{comment_id}", response_model=PortalComment)
async def update_comment_portal(
    project_id: uuid.UUID,
    comment_id: uuid.UUID,
    data: CommentPatch,
    ctx: PortalCtx,
    session: DbSession,
) -> PortalComment:
    """Edit one's own comment within 15 minutes."""
    return await service.edit_portal_comment(session, ctx, project_id, None, comment_id, data.body)


@portal_router.delete(
    "/projects/{project_id}/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_comment_portal(
    project_id: uuid.UUID, comment_id: uuid.UUID, ctx: PortalCtx, session: DbSession
) -> None:
    """Delete one's own comment within 15 minutes: a tombstone stays."""
    await service.delete_portal_comment(session, ctx, project_id, None, comment_id)


@portal_router.get(
    "/projects/{project_id}/tasks/{task_id}/comments",
    response_model=Page[PortalComment],
    responses=CSV_RESPONSES,
)
async def list_task_comments_portal(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    ctx: PortalCtx,
    session: DbSession,
    page: PageQuery,
    fmt: FormatQuery,
) -> Page[PortalComment] | CsvResponse:
    """A task's client comments."""
    listing = await service.list_portal_comments(session, ctx, project_id, task_id)
    return await list_response(session, listing, page, fmt, PORTAL_COMMENT_CSV, "comments.csv")


@portal_router.post(
    "/projects/{project_id}/tasks/{task_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=PortalComment,
)
async def create_task_comment_portal(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    data: PortalCommentIn,
    ctx: PortalCtx,
    session: DbSession,
    redis: RedisDep,
) -> PortalComment:
    """A collaborator comments on a task (a question to the team, say)."""
    return await service.post_portal_comment(session, redis, ctx, project_id, task_id, data.body)


@portal_router.patch(
    "/projects/{project_id}/tasks/{task_id}/comments/{comment_id}", response_model=PortalComment
)
async def update_task_comment_portal(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    comment_id: uuid.UUID,
    data: CommentPatch,
    ctx: PortalCtx,
    session: DbSession,
) -> PortalComment:
    """Edit one's own comment on the task within 15 minutes."""
    return await service.edit_portal_comment(
        session, ctx, project_id, task_id, comment_id, data.body
    )


@portal_router.delete(
    "/projects/{project_id}/tasks/{task_id}/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_task_comment_portal(
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    comment_id: uuid.UUID,
    ctx: PortalCtx,
    session: DbSession,
) -> None:
    """Delete one's own comment on the task within 15 minutes."""
    await service.delete_portal_comment(session, ctx, project_id, task_id, comment_id)


@public_router.post("/unsubscribe", status_code=status.HTTP_204_NO_CONTENT)
async def unsubscribe(data: UnsubscribeIn, session: DbSession, secrets: SecretsDep) -> None:
    """Turn conversation emails off by the signed token of an email's link (no login)."""
    await turn_emails_off(session, secrets, data.token)
