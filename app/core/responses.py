"""Responses more than one router answers with."""

from fastapi.responses import Response


def pdf_response(
    content: bytes, filename: str, *, download: bool = False, headers: dict[str, str] | None = None
) -> Response:
    """A PDF document: shown in the browser, or saved (`download`) under `filename`."""
    disposition = "attachment" if download else "inline"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"', **(headers or {})},
    )
