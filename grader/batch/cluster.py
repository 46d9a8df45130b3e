"""Grading on a Dask cluster: ``grader batch --cluster tcp://scheduler:8786``.

Dask rather than Ray: ``distributed`` is pure Python and small to install on a CPU-only CI
machine or a TA's laptop, a local cluster starts in seconds, and its worker *resources*
give GPU-aware placement with fractions (``resources={"GPU": 0.25}`` puts four trainings on
a GPU) without any scheduler of our own. Start one worker per GPU, with that GPU visible:

    CUDA_VISIBLE_DEVICES=0 dask worker tcp://scheduler:8786 --nthreads 4 --resources GPU=1

Each worker needs the same grader, packs and datasets installed (the batch checks the pack's
hash); submissions travel inside the tasks, so no shared file system is needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor


class ClusterError(RuntimeError):
    pass


@contextlib.contextmanager
def cluster_executor(address: str, gpu_fraction: float = 0.0,
                     connect_timeout_s: float = 30.0) -> Iterator[Executor]:
    """A ``concurrent.futures`` executor whose tasks run on the cluster at ``address``.

    With ``gpu_fraction`` > 0 every task asks for that share of a worker's ``GPU`` resource,
    and a cluster that has no such worker is refused at once rather than left waiting.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError("--cluster needs Dask: pip install 'trustgrade[cluster]'") from exc
    if gpu_fraction < 0 or gpu_fraction > 1:
        raise ClusterError(f"the GPU fraction must be in (0, 1], not {gpu_fraction}")
    try:
        client = Client(address, timeout=connect_timeout_s)
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        kwargs: dict = {"pure": False}
        if gpu_fraction:
            _require_gpu_workers(client, gpu_fraction)
            kwargs["resources"] = {"GPU": gpu_fraction}
        with client.get_executor(**kwargs) as executor:
            yield executor
    finally:
        client.close()


def _require_gpu_workers(client: object, fraction: float) -> None:
    workers = client.scheduler_info(n_workers=-1).get("workers", {})  # type: ignore[attr-defined]
    gpus = [w.get("resources", {}).get("GPU", 0) for w in workers.values()]
    if not any(g >= fraction for g in gpus):
        raise ClusterError(
            f"no worker of the cluster offers a GPU resource of at least {fraction}: start "
            "workers with `--resources GPU=1`, or grade without the GPU tests (--part cpu)")
