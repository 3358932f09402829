"""Where cycles run: in the daemon's threads (the default) or on a Dask distributed cluster.

- `specs.py`: the `executor:` config block (light: no Dask imported)
- `base.py`: `CycleExecutor`, what the scheduler asks of one
- `in_process.py`: models loaded here, cycles on the daemon's bounded thread pool
- `dask_cluster.py`: the daemon's side of the Dask executor (submit, wait, record)
- `worker.py`: what runs on a Dask worker (runtimes kept per worker process)

This package's `__init__` imports nothing: the config imports `specs` while the cycle (which
`base` needs) imports the config. `build_executor` lives in `in_process.py`; it imports Dask
only for a `dask` executor.
"""
