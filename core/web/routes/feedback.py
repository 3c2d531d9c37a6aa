"""Where a feed item's "more / less like this" link leads: a question, then a recorded POST."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    from core.web.feedback_page import Feedback, problem

    try:
        feedback = Feedback.from_form(await request.body())
    except ValidationError as error:
        return error_response(request, 422, problem(error))
    except ValueError as error:
        return error_response(request, 413, str(error))
    return await run_in_threadpool(_answer, request, feedback, True)


def _answer(request: Request, feedback: Feedback, recorded: bool) -> Response:
    from core.web.feedback_page import feedback_page

    ctx = context(request)
    base = public_base(request, ctx.settings)
    if not ctx.feedback_links(base).verify(feedback.id, feedback.opinion, feedback.sig):
        return error_response(request, 403, "this link was not signed by this service")
    current = ctx.store()
    if recorded:
        current.set_like(feedback.id, feedback.opinion)
    known = current.papers([feedback.id]) or current.examples([feedback.id])
    title = known[0].title if known else f"arXiv:{feedback.id}"
    page = feedback_page(feedback, title, base, ctx.settings.site.title, recorded=recorded)
    return HTMLResponse(page, headers=PRIVATE_PAGE)
