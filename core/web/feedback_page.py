"""The page a "more / less like this" link opens: it asks, and records only on POST.

Parameters are validated here (an arXiv id, an opinion, a signature of the right shape); the
signature itself is checked by `core.render.feedback`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from pydantic import BaseModel, Field, ValidationError, field_validator

from core.config import ArxivIdList
from core.models import Opinion
from core.render.feedback import LABELS, SIGNATURE_LENGTH
from core.web.pages import environment

MAX_FORM_BYTES = 2048
_SIGNATURE = re.compile(f"[0-9a-f]{{{SIGNATURE_LENGTH}}}")
QUESTIONS: dict[Opinion, tuple[str, str]] = {
    "like": ("Rank papers like this one higher in your feeds:", "You want more papers like"),
    "dislike": ("Rank papers like this one lower in your feeds:", "You want fewer papers like"),
}


class Feedback(BaseModel):
    id: str
    opinion: Opinion
    sig: str
    token: str = Field(default="", max_length=64)
    """The confirm form's token (posted forms only)."""

    @field_validator("id")
    @classmethod
    def _arxiv_id(cls, value: str) -> str:
        return ArxivIdList.validate_python([value])[0]

    @field_validator("sig")
    @classmethod
    def _signature_shape(cls, value: str) -> str:
        if not _SIGNATURE.fullmatch(value):
            raise ValueError("not a signature of this service")
        return value

    @classmethod
    def from_form(cls, body: bytes) -> Feedback:
        """From a posted form; ValueError when it is too large or not a feedback form."""
        if len(body) > MAX_FORM_BYTES:
            raise ValueError(f"a feedback form is under {MAX_FORM_BYTES} bytes")
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        return cls.model_validate({name: values[0] for name, values in fields.items()})


def problem(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
        for e in error.errors()
    )


def feedback_page(feedback: Feedback, title: str, base: str, site_title: str, *, token: str) -> str:
    """The question, with a form bound to `token`; without a token, the opinion recorded."""
    question, done = QUESTIONS[feedback.opinion]
    return (
        environment()
        .get_template("feedback.html")
        .render(
            recorded=not token,
            token=token,
            label=LABELS[feedback.opinion],
            question=question,
            done=done,
            title=title,
            abs_url=f"https://arxiv.org/abs/{feedback.id}",
            paper_id=feedback.id,
            opinion=feedback.opinion,
            sig=feedback.sig,
            base=base,
            site_title=site_title,
        )
    )
