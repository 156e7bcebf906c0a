"""EMAIL_URL forms (townhall/config/env.py)."""

from __future__ import annotations

from townhall.config.env import parse_email_url


def test_email_url_smtp_tls_scheme_means_starttls_on_587() -> None:
    config = parse_email_url("smtp+tls://mailer:p%40ss@smtp.example.com")
    assert config.backend.endswith("smtp.EmailBackend")
    assert (config.host, config.port, config.use_tls, config.use_ssl) == ("smtp.example.com", 587, True, False)
    assert (config.user, config.password) == ("mailer", "p@ss")


def test_email_url_ssl_forms_and_plain_smtp() -> None:
    assert parse_email_url("smtp+ssl://h").port == 465 and parse_email_url("smtp+ssl://h").use_ssl
    assert parse_email_url("smtps://h:2465").port == 2465
    plain = parse_email_url("smtp://127.0.0.1:2525")
    assert (plain.port, plain.use_tls, plain.use_ssl) == (2525, False, False)
    assert parse_email_url("console://").backend.endswith("console.EmailBackend")
