"""A map over blocks by worker processes, and BLAS held to one thread; a room below em_helpers (which
re-exports ``BlockMap`` and ``one_blas_thread``).

An E-pass over blocks is a map and a sum: one small summary per block (an ``EPass.summary()``:
the block's sufficient statistics N_k, Σ_i γ_ik (x_i - c_k), Σ_i γ_ik (x_i - c_k)(x_i - c_k)ᵀ and
its part of L(θ)), then ``combine_passes`` adds them in block order. ``BlockMap`` does the map:
over ``n_jobs`` processes, this one and n_jobs - 1 workers forked from it (no more than the
blocks: min(n_jobs, n_blocks) - 1), each computing a
block at a time, the next one not yet taken, and it hands back the summaries in block order, so
the caller's sum is the same bits for any n_jobs.

Why processes, not threads. Measured on this 2-core machine, it depends on the load. On idle
cores (``python tests/bench.py threads``, 20 iterations of fit_gmm_chunked, three runs on
2026-12-07, load average 1.5 to 1.8 from the bench itself), 2 processes gave 1.72 to 1.81x one
process's throughput at N = 1,000,000, D = 2, K = 3 and 1.71 to 1.86x at N = 200,000, D = 8, K = 6;
the thread pool this map replaced had given 1.18x and 1.34x (load 1.6), where np.exp alone on 2
threads gave 1.75x and 1.88x. On a machine busy with other work neither gains reliably
(``python tests/nb03_threads_spread.py``, 8 interleaved rounds on 2 million points, D = 2, K = 3, two
runs): medians of 2 threads 0.97x and 2 processes 0.97x at a load average of 3.5, 0.93x and 0.92x at
2.0. Why threads gain less on idle cores
is not pinned down: Python's own share of a block, between its ~20 NumPy calls, measured 2 to 9%,
and 2 threads made ~6 voluntary context switches per block, not one per call. Processes were chosen
for the idle case, the one n_jobs > 1 is for.

Why fork. A worker forked from this process inherits ``one_block`` and through it the data: an in-
memory array or a memory map is shared page by page at no cost (copy on write; EM only reads it), so
per pass nothing but θ and the number of blocks is pickled to a worker, and only the summaries of
the blocks it took come back (about 0.7 KB each at D = 2, K = 3). The workers are forked once per
map (``with BlockMap(...)``: once per fit), not per pass, and end when the ``with`` block does,
normally or by an exception. On Linux only: elsewhere n_jobs > 1 raises a ValueError naming n_jobs=1
(Windows cannot fork; on macOS a forked child that calls the system's libraries, Accelerate's BLAS
among them, can crash, which is why Python's multiprocessing stopped forking there by default in
3.8).

BLAS: the caller (em_helpers' ``DataSource``, until it is closed) holds BLAS to one thread
(``one_blas_thread``, here; it imports threadpoolctl when first called) before the map forks; the
workers inherit the limit (tests/test_em_workers.py checks it), so n_jobs processes run n_jobs
threads of arithmetic, not n_jobs times BLAS's own pool.

Python 3.12 and later warn (DeprecationWarning) when a process that has other threads forks:
such a child can deadlock on a lock another thread held at the fork. We fork anyway and do not
silence the warning. The threads a fit's process has at the fork are BLAS's idle pool (held at
one thread), and in a notebook the kernel's I/O threads; a worker only receives θ, runs NumPy on
its blocks, sends the summaries and leaves by ``os._exit`` (no flush of inherited streams, no
finalizers). If a program of yours forks while its own threads hold locks, use n_jobs=1.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import traceback

__all__ = ["BlockMap", "one_blas_thread"]

_BLAS_CONTROLLER = []


def one_blas_thread():
    """A context manager that runs BLAS on one thread while it is open (process-wide, as
    scikit-learn's KMeans does): for fits whose products are thin, where OpenBLAS's threads cost
    more than they gain, and for fits that map their blocks over processes of their own (forked
    inside it, they inherit the limit).
    threadpoolctl's view of the loaded BLAS is made once (making it scans the process's
    libraries: about 6 ms)."""
    if not _BLAS_CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


class BlockMap:
    """``one_block`` mapped over ``n_blocks`` blocks by ``n_jobs`` processes; a context manager.

    Parameters
    ----------
    one_block : callable (params, index) -> summary
        The work of block ``index`` (0 <= index < n_blocks) under ``params``; its result must be
        small and picklable (an ``EPass.summary()``), and so must ``params`` (a ``GMMParams``).
        With n_jobs > 1 it is never pickled: the workers inherit it, with the data it holds.
    n_blocks : int
    n_jobs : int
        Processes that share the blocks, this one included: 1 is a plain loop here, no worker;
        n > 1 forks min(n, n_blocks) - 1 workers on entering the ``with`` block. Each process
        takes the next block not yet taken (one shared counter) until none is left, so a process
        the machine slows down takes fewer blocks (it still holds up the end of a pass by the block
        it is on); a fixed half each ran 2 processes at 0.6 to 0.9 times one process's speed on a
        machine at a load of 3 to 5 (a cold reader's 5 runs).

    Calling the map with θ returns the list of the n_blocks results in block order. An exception
    in a block reaches the caller as the same type with the same message (a worker's traceback
    is added as a note); if several blocks fail, the error of the earliest is raised, as the
    plain loop would have raised it (blocks are taken in increasing order, so the earliest bad
    block is always taken, whoever takes it). An exception that does not survive pickling arrives as
    a RuntimeError naming it.
    """

    def __init__(self, one_block, n_blocks, n_jobs=1):
        if n_jobs > 1 and (sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods()):
            raise ValueError(
                f"n_jobs={n_jobs} forks worker processes that share the data with this one, which this module "
                "does on Linux only (Windows cannot fork; on macOS a forked child that calls the system's "
                "libraries, its BLAS among them, can crash, and Python itself no longer forks there by "
                "default): use n_jobs=1."
            )
        self.one_block, self.n_blocks = one_block, n_blocks
        self.n_processes = max(1, min(n_jobs, n_blocks))
        self._workers, self._conns, self._next = [], [], None

    def __enter__(self):
        context = multiprocessing.get_context("fork")
        self._next = context.Value("q", 0)  # the next block not yet taken, shared by every process
        try:
            for j in range(1, self.n_processes):
                ours, theirs = context.Pipe()
                worker = context.Process(
                    target=_serve,
                    args=(self.one_block, self._next, theirs, [*self._conns, ours]),
                    name=f"em-block-worker-{j}",
                )
                worker.daemon = True  # ended by multiprocessing at exit should this process die in between
                worker.start()
                theirs.close()
                self._workers.append(worker)
                self._conns.append(ours)
        except BaseException:
            self.close(wait=False)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(wait=exc_type is None)

    def __call__(self, params):
        if self.n_processes == 1:
            return [self.one_block(params, index) for index in range(self.n_blocks)]
        if self.n_processes - 1 != len(self._conns):
            raise RuntimeError("a BlockMap with n_jobs > 1 maps inside its `with` block only")
        self._next.value = 0  # the workers wait for θ: no block is being taken
        sent = []
        for conn in self._conns:
            try:
                conn.send((params, self.n_blocks))
                sent.append(True)
            except OSError:  # the worker is gone
                sent.append(False)
        # this process's blocks, then every worker's answer (all of them: a pass read half-way
        # would leave the next pass reading this one's answers)
        parts = [_take_blocks(self.one_block, self._next, params, self.n_blocks)]
        parts += [
            self._receive(worker, conn) if ok else self._gone(worker)
            for worker, conn, ok in zip(self._workers, self._conns, sent, strict=True)
        ]
        failures = [part for part in parts if isinstance(part, _Failure)]
        if failures:
            raise min(failures, key=lambda failure: failure.index).exception()
        results = dict(pair for part in parts for pair in part)
        return [results[index] for index in range(self.n_blocks)]  # in block order

    def close(self, wait=True):
        """End the workers: each is told to stop and joined (``wait``: a worker still computing
        finishes the block it is on first; else it is terminated)."""
        for conn in self._conns:
            try:
                conn.send(None)
            except OSError:  # the worker is gone already
                pass
            conn.close()
        for worker in self._workers:
            worker.join(timeout=None if wait else 1.0)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        self._workers, self._conns = [], []

    @classmethod
    def _receive(cls, worker, conn):
        try:
            return conn.recv()
        except (EOFError, OSError):
            return cls._gone(worker)

    @staticmethod
    def _gone(worker):
        worker.join(timeout=1.0)
        return _Failure(
            RuntimeError(f"worker process {worker.pid} ended without answering (exit code {worker.exitcode})")
        )


class _Failure:
    """An exception met by block ``index`` (a worker that died: after every block), with the
    traceback text of the process it came from."""

    def __init__(self, error, where=None, index=float("inf")):
        self.error, self.where, self.index = error, where, index

    def exception(self):
        if self.where is not None:
            self.error.add_note(self.where)
        return self.error


def _take_blocks(one_block, next_block, params, n_blocks):
    """Take the next block not yet taken (``next_block``, a shared counter) and compute it, until
    none is left: the (index, result) pairs, or the _Failure of the first that raises (this
    process then takes no more; the others go on, and a later block's error loses to it)."""
    done = []
    while True:
        with next_block.get_lock():
            index = next_block.value
            next_block.value = index + 1
        if index >= n_blocks:
            return done
        try:
            done.append((index, one_block(params, index)))
        except Exception as error:
            return _Failure(error, index=index)


def _serve(one_block, next_block, conn, parent_ends):
    """A worker: for each (params, n_blocks) received, take blocks as ``_take_blocks`` does and send
    back their results; stop on None or when this process's parent closes its end. Leaves by
    os._exit (see the module's note)."""
    for end in parent_ends:  # inherited at fork; closed, so the parent's death reads as EOF here
        end.close()
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            reply = _take_blocks(one_block, next_block, *task)
            if isinstance(reply, _Failure):
                reply = _portable(reply.error, reply.index)
            conn.send(reply)
    finally:
        conn.close()
        os._exit(0)


def _portable(error, index):
    """The exception as it will cross the pipe: itself if it pickles and unpickles, else a
    RuntimeError that names it; with this worker's traceback as its note."""
    text = "".join(traceback.format_exception(error)).rstrip()
    where = f"(raised in worker process {os.getpid()}; its traceback:\n{text})"
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        error = RuntimeError(f"{type(error).__qualname__}: {error} (in a worker process; it cannot be pickled)")
    return _Failure(error, where, index)
