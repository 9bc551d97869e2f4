"""Child-process entry of :mod:`optimizer.solvers.isolation`.

``python -m optimizer.solvers._child REQUEST RESPONSE``: unpickle a request from REQUEST,
``("solve", solver, program, options)`` or ``("export", program, path)``, run it in this
process, and pickle ``("result", value)`` or ``("error", exception)`` to RESPONSE. Not a public
interface.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def run(request: tuple[object, ...]) -> object:
    """Carry out one request in this process."""
    kind = request[0]
    if kind == "solve":
        from optimizer.solvers.dispatch import solve_in_process

        _, solver, program, options = request
        return solve_in_process(str(solver), program, **options)  # type: ignore[arg-type]
    if kind == "export":
        from optimizer.solvers.highs_backend import write_model_highs

        _, program, path = request
        write_model_highs(program, str(path))  # type: ignore[arg-type]
        return None
    raise ValueError(f"unknown child request {kind!r}")


def main(argv: list[str]) -> int:
    """Run the request in ``argv[0]``, write the answer to ``argv[1]``; return the exit code."""
    request_path, response_path = Path(argv[0]), Path(argv[1])
    with request_path.open("rb") as handle:
        request = pickle.load(handle)
    try:
        outcome: tuple[str, object] = ("result", run(request))
    except Exception as error:  # sent back to the parent, which raises it again
        outcome = ("error", error)
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that cannot be pickled: send its text
        value = outcome[1]
        payload = pickle.dumps(("error", RuntimeError(f"{type(value).__name__}: {value}")))
    partial = response_path.with_suffix(".partial")
    partial.write_bytes(payload)
    partial.replace(response_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
