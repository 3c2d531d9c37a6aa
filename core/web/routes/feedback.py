"""Where a feed item's "more / less like this" link leads: a question, then a recorded POST."""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from core.web.context import context, public_base
from core.web.responses import PRIVATE_PAGE, error_response

if TYPE_CHECKING:  # the page's module brings Jinja2: imported when a link is followed
    from core.web.feedback_page import Feedback


def confirm_feedback(request: Request) -> Response:
    """What a link opens: a question, no change (readers and mail scanners prefetch links)."""
    from core.web.feedback_page import Feedback, problem

    try:
        feedback = Feedback.model_validate(dict(request.query_params))
    except ValidationError as error:
        return error_response(request, 422, problem(error))
    return _answer(request, feedback, recorded=False)


async def record_feedback(request: Request) -> Response:
    """Records an opinion confirmed on the page `confirm_feedback` served: a post from another
    site, or without the page's token, is refused (a link's signature alone, which anyone
    holding a feed has, must not let a page elsewhere record opinions)."""
    from core.web.feedback_page import Feedback, problem

    if _cross_site(request):
        return error_response(request, 403, "a feedback form is accepted from this site only")
    try:
        feedback = Feedback.from_form(await request.body())
    except ValidationError as error:
        return error_response(request, 422, problem(error))
    except ValueError as error:
        return error_response(request, 413, str(error))
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not (cookie and feedback.token and hmac.compare_digest(cookie, feedback.token)):
        message = "this form did not come from this service's page: open the link again"
        return error_response(request, 403, message)
    return await run_in_threadpool(_answer, request, feedback, True)


FORM_COOKIE = "arxiv_feeds_form"
"""The confirm form's token, also sent as a same-site-only cookie: a page on another site
can neither read the token nor make the browser send the cookie with its post."""


def _cross_site(request: Request) -> bool:
    """The browser says the post comes from another site (Sec-Fetch-Site), or names an
    origin whose host is not the one the request reached."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc != request.headers.get("host")


def _answer(request: Request, feedback: Feedback, recorded: bool) -> Response:
    from core.web.feedback_page import feedback_page
    from core.web.pages import page_policy

    ctx = context(request)
    base = public_base(request, ctx.settings)
    if not ctx.feedback_links(base).verify(feedback.id, feedback.opinion, feedback.sig):
        return error_response(request, 403, "this link was not signed by this service")
    current = ctx.store()
    if recorded:
        current.set_like(feedback.id, feedback.opinion)
    known = current.papers([feedback.id]) or current.examples([feedback.id])
    title = known[0].title if known else f"arXiv:{feedback.id}"
    token = "" if recorded else secrets.token_urlsafe(24)
    page = feedback_page(feedback, title, base, ctx.settings.site.title, token=token)
    headers = {**PRIVATE_PAGE, "Content-Security-Policy": page_policy("feedback.html")}
    response = HTMLResponse(page, headers=headers)
    if token:
        response.set_cookie(
            FORM_COOKIE,
            token,
            max_age=3600,
            path="/feedback",
            secure=base.startswith("https:"),
            httponly=True,
            samesite="strict",
        )
    return response
