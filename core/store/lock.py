"""The refresh's lock: one refresh at a time across every instance, held in the store, kept
alive by a heartbeat while the refresh works and recorded as failed when it raises."""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.clock import Clock, utc_now
from core.models import RefreshReport
from core.store import Store, StoreError

LOCK_NAME = "refresh"
LOCK_TTL_SECONDS = 60.0
"""A refresh holds its lock this long past its last sign of life: a refresh that dies (its
process killed, its store gone) blocks the next one for at most this long."""
LOCK_RENEW_SECONDS = LOCK_TTL_SECONDS / 3


class LockHeartbeat:
    """Renews the refresh's lock every LOCK_RENEW_SECONDS (real time) while it works, so the
    lock can be short and still never expire under a refresh that is alive."""

    def __init__(
        self, store: Store, token: str, clock: Clock, every: float = LOCK_RENEW_SECONDS
    ) -> None:
        self.store, self.token, self.clock, self.every = store, token, clock, every
        self.renewed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lock-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                held = self.store.renew_lock(
                    LOCK_NAME, self.token, LOCK_TTL_SECONDS, self.clock.time()
                )
            except StoreError:
                return  # the refresh itself will meet the store's failure
            if not held:
                return
            self.renewed.set()

    def __enter__(self) -> LockHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def locked(
    store: Store, clock: Clock, source: str, work: Callable[[RefreshReport], RefreshReport]
) -> RefreshReport:
    """`work`'s report, run under the lock; a "locked" report when another refresh holds it."""
    started = utc_now(clock)
    report = RefreshReport(started=started, status="failed", message="", source=source)
    token = store.acquire_lock(LOCK_NAME, LOCK_TTL_SECONDS, clock.time())
    if token is None:
        return report.model_copy(
            update={"status": "locked", "message": "another refresh is running; try later"}
        )
    try:
        with LockHeartbeat(store, token, clock):
            return work(report)
    except StoreError:
        raise  # nothing can be recorded in a store that does not answer
    except Exception as error:
        # A bug, not an upstream failure: the stored data is untouched (nothing was published);
        # record it so /health shows it, then let the caller report it.
        message = f"refresh failed: {type(error).__name__}: {error}"
        store.save_report(
            report.model_copy(update={"message": message, "finished": utc_now(clock)})
        )
        raise
    finally:
        store.release_lock(LOCK_NAME, token)
