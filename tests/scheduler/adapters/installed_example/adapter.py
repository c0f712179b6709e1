from __future__ import annotations

from scheduler.adapters.sandbox.adapter import SandboxAdapter


class CityIntranetAdapter(SandboxAdapter):
    platform = "intranet"
    label = "City intranet"
