"""Signed "more like this" / "less like this" links for every feed item.

A link carries the paper id, the opinion and an HMAC of both under a secret of the
deployment (made once, kept in the store), so only someone who holds a feed can use it.
Following a link changes nothing (readers and mail scanners prefetch links): it opens a page
that records the opinion only when its form is posted.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from core.models import Opinion

SECRET_NAME = "feedback"
SIGNATURE_LENGTH = 32
LABELS: dict[Opinion, str] = {"like": "More like this", "dislike": "Less like this"}


class FeedbackLinks:
    def __init__(self, base_url: str, secret: str) -> None:
        self.base_url = base_url
        self._key = secret.encode()

    def signature(self, paper_id: str, opinion: Opinion) -> str:
        message = f"{paper_id}\n{opinion}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:SIGNATURE_LENGTH]

    def url(self, paper_id: str, opinion: Opinion) -> str:
        paper = quote(paper_id, safe="")  # an arXiv id: letters, digits, '.', '-', '/'
        sig = self.signature(paper_id, opinion)
        return f"{self.base_url}/feedback?id={paper}&opinion={opinion}&sig={sig}"

    def verify(self, paper_id: str, opinion: Opinion, signature: str) -> bool:
        return hmac.compare_digest(self.signature(paper_id, opinion), signature)
