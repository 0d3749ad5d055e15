from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "winback.web.accounts"
    label = "accounts"
    verbose_name = _("Users and audit")

    def ready(self) -> None:
        # the sign-in time for the absolute session limit is stamped by a login signal
        from winback.web.accounts import middleware  # noqa: F401
