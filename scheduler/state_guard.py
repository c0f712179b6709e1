"""The model-level guard behind "only scheduler/services/ and scheduler/publishing.py write Post and Delivery
state" (issue 12). Post and Delivery refuse a change of `status` (save, create, update, bulk writes) unless
the project code asking for it, the nearest project frame on the call stack, is one of the owners. Tests,
benchmarks and migrations may set rows up in a status (factories, fixtures). Imports nothing of the project.

The stack is looked at only when a status actually changes, so ordinary saves cost nothing."""

from __future__ import annotations

import functools
import os
import sys
from types import FrameType

_SCHEDULER = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_SCHEDULER)
_OWNERS = (os.path.join(_SCHEDULER, "services") + os.sep, os.path.join(_SCHEDULER, "publishing.py"))
# Code that sets rows up in a state on purpose: the test suite, the benchmarks, data migrations.
_SET_UP = (os.path.join(_ROOT, "tests") + os.sep, os.path.join(_ROOT, "bench") + os.sep)
# Frames that are the machinery of the write, not the code asking for it.
_MACHINERY = (os.path.join(_SCHEDULER, "models.py"), os.path.abspath(__file__))


class StateWriteRefused(RuntimeError):
    """Post or Delivery state written outside scheduler/services/ and scheduler/publishing.py."""


@functools.cache
def _project_file(co_filename: str) -> str:
    """The absolute path when `co_filename` is project code other than the models' machinery, else ""."""
    name = os.path.abspath(co_filename)
    outside = not name.startswith(_ROOT + os.sep) or any(
        part in name for part in (f"{os.sep}site-packages{os.sep}", f"{os.sep}.venv{os.sep}")
    )
    return "" if outside or name in _MACHINERY else name


def _asker(frame: FrameType | None) -> str:
    """The file of the nearest project frame that is not the models' own machinery ("" when none is)."""
    while frame is not None:
        name = _project_file(frame.f_code.co_filename)
        if name:
            return name
        frame = frame.f_back
    return ""


def check_state_write(model_name: str) -> None:
    """Raises StateWriteRefused unless the code asking to change `model_name`'s status may."""
    asker = _asker(sys._getframe(1))
    if not asker or asker.startswith(_OWNERS + _SET_UP) or f"{os.sep}migrations{os.sep}" in asker:
        return
    raise StateWriteRefused(
        f"{model_name}.status is written only by scheduler/services/ and scheduler/publishing.py "
        f"(asked by {os.path.relpath(asker, _ROOT)})."
    )
