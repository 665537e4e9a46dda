"""Article extraction in worker processes, so the bot's own process never holds lxml's memory.

Parsing pages with lxml leaves libxml2's and malloc's arenas in the process that parsed them: a
round that extracted 5,000 articles raised the bot's peak from about 104 MB to 232 MB, and only
9 MB of the growth was Python objects. Here the CPU part of ingestion (page bytes to a piece
draft) runs in a few worker processes, each replaced after ``pages_per_worker`` pages, so what
they hold goes back to the system and the bot's own memory stays flat.

Isolation is the other half of the job: a page that crashes a worker (a segfault or SIGBUS in a
C library, running out of memory) or runs past ``timeout`` costs that page only. The worker is
killed and replaced, the page fails with an ``ExtractionError`` (the poller counts it like any
entry that cannot become a piece), one warning line names it, and polling goes on.

Workers are forked from multiprocessing's fork server, never from the bot's own threaded
process, and the fork server imports the pipeline once, so a replacement starts in
milliseconds. The pool itself is pebble's ProcessPool (per-task timeouts, per-task crash
reporting, recycling after a number of tasks), started on first use from a thread: nothing of
this loads at start-up, and the event loop never waits for a process to start.

Tests make a worker misbehave without touching this code: with COMMENTARY_TEST_WORKER_FAULTS=1
in the environment when the pool starts, a page containing ``commentary-test-fault:crash``
(``:stall``, ``:memory``) makes the worker kill itself with SIGSEGV, sleep, or raise
MemoryError. Without that variable page content has no such power.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from bot.pipeline.errors import ExtractionError

if TYPE_CHECKING:
    from pebble import ProcessPool

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# A page takes 10-100 ms and the slowest real page seen about 3 s; a minute is a stall, not a
# busy machine.
PAGE_TIMEOUT = 60.0
# Pages a worker extracts before it is replaced. Its peak grows with what lxml has held (a few
# large pages leave arenas behind); replacing it costs a fork of the preloaded fork server.
PAGES_PER_WORKER = 50
# What the fork server imports once, so that every worker starts with the pipeline loaded.
PRELOAD = ["bot.ingest.articles", "bot.pipeline.document", "bot.pipeline.summarize"]
# A worker that ran out of memory exits with this code (its memory goes back with it).
OUT_OF_MEMORY_EXIT = 75
FAULTS_VARIABLE = "COMMENTARY_TEST_WORKER_FAULTS"
_FAULT_MARK = b"commentary-test-fault:"


class ExtractWorkers:
    """A small pool of extraction processes: ``await workers.run(label, fn, *args)``."""

    def __init__(
        self,
        processes: int,
        *,
        timeout: float | None = None,
        pages_per_worker: int | None = None,
        on_replaced: Callable[[str], None] | None = None,
    ) -> None:
        """``timeout`` (seconds a page may take) and ``pages_per_worker``: the module's
        PAGE_TIMEOUT and PAGES_PER_WORKER unless given. ``on_replaced(reason)`` is told of
        each worker killed for a page: "crash", "stall", "memory" or "broken" (the metric)."""
        if processes < 1:
            raise ValueError("at least one worker process")
        self.processes = processes
        self.timeout = PAGE_TIMEOUT if timeout is None else timeout
        self.pages_per_worker = PAGES_PER_WORKER if pages_per_worker is None else pages_per_worker
        # The highest VmHWM any worker reported after a page (bytes): what the recycling bounds.
        self.peak_bytes = 0
        self.replaced = 0  # workers killed for a crash or a stall
        self._on_replaced = on_replaced or (lambda reason: None)
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()  # pools are made on worker threads
        self._closed = False
        self._futures: set[Future[Any]] = set()  # in flight, cancelled when the bot stops

    async def run(self, label: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in a worker; ``label`` (the page's URL) names it in the log.

        ``fn`` and its arguments travel by pickling: a module-level function and plain data.
        Raises what ``fn`` raises, or ``ExtractionError`` when the worker crashed or stalled.
        """
        from concurrent.futures.process import BrokenProcessPool

        from pebble import ProcessExpired

        pool = await self._running_pool()
        try:
            future = pool.schedule(_call, args=(fn, args, kwargs), timeout=self.timeout)
        except RuntimeError:  # the pool broke between the check and now: once more, afresh
            self._discard(pool)
            pool = await self._running_pool()
            future = pool.schedule(_call, args=(fn, args, kwargs), timeout=self.timeout)
        self._futures.add(future)
        try:
            result, peak = await self._outcome(future)
        except TimeoutError as exc:
            if exc.args[:1] != ("Task timeout",):
                raise  # the page's own code timed out at something: not a stall of the worker
            self._replaced("stall")
            log.warning(
                "extracting %s took longer than %gs: its worker was killed and replaced",
                label,
                self.timeout,
            )
            raise ExtractionError(
                f"Reading the page took longer than {self.timeout:g} seconds; it was stopped."
            ) from None
        except ProcessExpired as exc:
            self._replaced("memory" if exc.exitcode == OUT_OF_MEMORY_EXIT else "crash")
            cause = _exit_cause(exc.exitcode)
            log.warning("extracting %s %s: its worker was replaced", label, cause)
            raise ExtractionError(f"The page could not be read: it {cause}.") from None
        except BrokenProcessPool:
            self._replaced("broken")
            self._discard(pool)
            log.warning("extracting %s: the worker pool broke and was replaced", label)
            raise ExtractionError("The page could not be read (the reader restarted).") from None
        finally:
            self._futures.discard(future)
        self.peak_bytes = max(self.peak_bytes, peak)
        return result

    async def _outcome(self, future: Future[tuple[T, int]]) -> tuple[T, int]:
        try:
            return await asyncio.wrap_future(future)
        except Exception as exc:
            # A page that fails counts too: the largest pages are often the ones that fail.
            self.peak_bytes = max(self.peak_bytes, getattr(exc, "worker_peak", 0))
            raise

    def warm_up(self) -> None:
        """Start the workers in the background (the fork server imports the pipeline)."""

        def start() -> None:
            try:
                self._pool_now()
            except Exception as exc:  # noqa: BLE001 - the first page will try again
                if not self._closed:
                    log.warning("extraction workers did not start: %s", exc)

        threading.Thread(target=start, name="extract-start", daemon=True).start()

    async def aclose(self) -> None:
        """Stop the workers (a page in progress is abandoned) and wait until they are gone."""
        pool = self._stop()
        if pool is not None:
            await asyncio.to_thread(pool.join)

    def close(self) -> None:
        """Stop the workers without waiting (they are terminated in the background)."""
        pool = self._stop()
        if pool is not None:
            threading.Thread(target=pool.join, name="extract-stop", daemon=True).start()

    def worker_pids(self) -> list[int]:
        """The running workers' process ids (for the operator and the memory benchmark)."""
        pool = self._pool
        if pool is None:
            return []
        manager = getattr(pool, "_pool_manager", None)
        workers = getattr(getattr(manager, "worker_manager", None), "workers", {})
        return [pid for pid in list(workers) if isinstance(pid, int)]

    def _replaced(self, reason: str) -> None:
        self.replaced += 1
        self._on_replaced(reason)

    # --- the pool --------------------------------------------------------------------------
    async def _running_pool(self) -> ProcessPool:
        pool = self._pool
        if pool is not None and pool.active:
            return pool
        if pool is not None:
            self._discard(pool)
        # Starting workers waits for the fork server's imports (a second or so): off the loop.
        return await asyncio.to_thread(self._pool_now)

    def _pool_now(self) -> ProcessPool:
        from pebble import ProcessPool

        with self._lock:
            if self._closed:
                raise ExtractionError("The bot is stopping; the page was not read.")
            pool = self._pool
            if pool is not None and pool.active:  # .active starts a new pool's workers
                return pool
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            pool = ProcessPool(
                max_workers=self.processes,
                max_tasks=self.pages_per_worker,
                initializer=_start_worker,
                initargs=(os.environ.get(FAULTS_VARIABLE) == "1",),
                context=context,
            )
            pool.active  # noqa: B018 - starts the workers here, on this thread
            self._pool = pool
            return pool

    def _discard(self, pool: ProcessPool) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.stop()
        threading.Thread(target=pool.join, name="extract-stop", daemon=True).start()

    def _stop(self) -> ProcessPool | None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
        # A stopped pool answers no more: whoever still waits is cancelled, as with threads.
        for future in list(self._futures):
            future.cancel()
        return pool


def _exit_cause(code: int | None) -> str:
    if code == OUT_OF_MEMORY_EXIT:
        return "ran out of memory"
    if code is not None and code < 0:
        try:
            return f"crashed the reader ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"crashed the reader (exit code {code})"


# --- in the worker process ---------------------------------------------------------------------
_faults = False


def _start_worker(faults: bool) -> None:
    global _faults
    _faults = faults


def _call(fn: Callable[..., Any], args: Iterable[Any], kwargs: dict[str, Any]) -> tuple[Any, int]:
    """Run one task; returns its result and this worker's peak memory so far (VmHWM)."""
    args = tuple(args)
    try:
        if _faults:
            _fault(args)
        result = fn(*args, **kwargs)
    except MemoryError:
        # What a worker holds after a failed allocation is best given back whole.
        os._exit(OUT_OF_MEMORY_EXIT)
    except Exception as exc:
        exc.worker_peak = _own_peak()  # type: ignore[attr-defined] # travels with the pickle
        raise
    return result, _own_peak()


def _own_peak() -> int:
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _fault(args: tuple[Any, ...]) -> None:
    """The test hook (see the module's docstring): act on a marked page, if any."""
    for arg in args:
        content = getattr(arg, "content", arg)
        if not isinstance(content, bytes) or _FAULT_MARK not in content:
            continue
        start = content.index(_FAULT_MARK) + len(_FAULT_MARK)
        kind = content[start : start + 6]
        if kind.startswith(b"crash"):
            os.kill(os.getpid(), signal.SIGSEGV)
        elif kind.startswith(b"stall"):
            time.sleep(3600)
        elif kind.startswith(b"memory"):
            raise MemoryError
