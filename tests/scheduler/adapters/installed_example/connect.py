from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from scheduler.adapters.base import BaseConnectFlow, ConnectedAccount, ConnectFlow


class IntranetForm(forms.Form):
    display_name = forms.CharField()


class IntranetConnectFlow(BaseConnectFlow):
    platform = "intranet"
    kind = "form"

    def form_class(self) -> type[forms.Form]:
        return IntranetForm

    def connect(self, data: Mapping[str, Any]) -> ConnectedAccount:
        return ConnectedAccount(platform="intranet", display_name=data["display_name"])


FLOW: ConnectFlow = IntranetConnectFlow()
