"""A comment's Markdown as sanitized HTML, and the people it mentions.

Two walls. markdown-it-py renders CommonMark with raw HTML off (an author's `<script>`
comes out as text) and its own link check (no `javascript:`, `vbscript:`, `file:` or
`data:` links); images are not rendered at all, so `![..](..)` is a plain link and a
comment never makes a reader's browser fetch anything (tracking pixels, `onerror=`
tricks). Then nh3 (ammonia) keeps only the tags and attributes listed here and only
http(s)/mailto links, whatever the renderer let through.
"""

import re

import nh3
from markdown_it import MarkdownIt

_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable(["strikethrough", "table"])
    .disable("image")
)

_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
_SCHEMES = {"http", "https", "mailto"}

# `@[Ana Ruiz]` or `@[ana@example.com]`: a team member or contact, by name or address.
MENTION = re.compile(r"@\[([^\[\]\n]{1,200})\]")


def render(body: str) -> str:
    """The body as HTML safe to show any reader."""
    html = _MARKDOWN.render(body)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        filter_style_properties={"text-align"},
    )


def mentioned(body: str) -> set[str]:
    """The names and addresses mentioned, lower-cased and stripped."""
    return {m.strip().lower() for m in MENTION.findall(body) if m.strip()}
