from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "townhall.accounts"
    label = "accounts"
    verbose_name = "Accounts"
