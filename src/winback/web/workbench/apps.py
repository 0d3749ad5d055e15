from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkbenchConfig(AppConfig):
    name = "winback.web.workbench"
    label = "workbench"
    verbose_name = _("Workbench")

    def ready(self) -> None:
        # the sign-in time for the absolute session limit is stamped by a login signal
        from winback.web import middleware  # noqa: F401
