"""Settings come from the environment, and what a newcomer reads about them stays true: every variable
is documented, the lock files match pyproject.toml, and production settings pass Django's deploy checks."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "civicpost" / "settings.py").read_text()
ENV_READ = re.compile(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k3J9-q0vZr7Yw2xT8pLm4NcB6sHd1FgE5uAiOo3WbVtReQyPnMlKjZx",
    "CIVICPOST_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DJANGO_ALLOWED_HOSTS": "civicpost.example.gov",
    "CIVICPOST_SITE_URL": "https://civicpost.example.gov",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
}


SECRET_KEY_ONLY = {"DJANGO_SECRET_KEY": PRODUCTION_ENV["DJANGO_SECRET_KEY"]}


def settings_variables() -> set[str]:
    return set(ENV_READ.findall(SETTINGS_SOURCE))


def clean_env(**overrides: str) -> dict[str, str]:
    """The current environment without any CivicPost/Django variable, plus `overrides`.

    Variables are set to "" rather than removed so a developer's .env cannot fill them in."""
    env = {key: value for key, value in os.environ.items() if key not in settings_variables()}
    env.update(DATABASE_URL="", REDIS_URL="", DJANGO_DEBUG="false")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(overrides)
    return env


def settings_in_subprocess(**env: str) -> dict:
    """Imports civicpost.settings in a fresh interpreter with `env` and returns a few values."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
        "'db_name': settings.DATABASES['default']['NAME'], "
        "'cache': settings.CACHES['default']['BACKEND'], 'broker': settings.CELERY_BROKER_URL, "
        "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'debug': settings.DEBUG, "
        "'secure_cookies': settings.SESSION_COOKIE_SECURE}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_env(DJANGO_SETTINGS_MODULE="civicpost.settings", **{**SECRET_KEY_ONLY, **env}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_settings(*names: str, **env: str) -> subprocess.CompletedProcess:
    """Imports civicpost.settings in a fresh interpreter with only `env`; prints the settings `names`."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{name: getattr(settings, name) for name in {list(names)!r}}}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_env(DJANGO_SETTINGS_MODULE="civicpost.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def setting_values(*names: str, **env: str) -> dict:
    result = start_settings(*names, **{**SECRET_KEY_ONLY, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_database_and_redis_urls_it_runs_embedded_on_sqlite() -> None:
    values = settings_in_subprocess()
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["cache"].endswith("LocMemCache")
    assert values["eager"] is True
    assert values["debug"] is False


def test_database_and_redis_urls_switch_to_postgresql_redis_and_celery() -> None:
    values = settings_in_subprocess(
        DATABASE_URL="postgres://civicpost:secret@db.internal:5432/civicpost",
        REDIS_URL="redis://cache.internal:6379/3",
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "civicpost"
    assert values["cache"].endswith("RedisCache")
    assert values["broker"] == "redis://cache.internal:6379/3"
    assert values["eager"] is False


def test_without_a_secret_key_it_refuses_to_start_unless_debugging() -> None:
    # "" and not absent: a developer's .env must not fill it in.
    refused = start_settings("SECRET_KEY", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: Set DJANGO_SECRET_KEY to a long random value" in refused.stderr
    debugging = start_settings("SECRET_KEY", DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    assert debugging.returncode == 0, debugging.stderr
    assert json.loads(debugging.stdout)["SECRET_KEY"].startswith("django-insecure-")
    assert setting_values("SECRET_KEY") == {"SECRET_KEY": SECRET_KEY_ONLY["DJANGO_SECRET_KEY"]}


def test_email_comes_from_one_url_and_prints_to_the_console_by_default() -> None:
    names = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS")
    default = setting_values(*names, "DEFAULT_FROM_EMAIL", "SERVER_EMAIL")
    assert default["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert default["DEFAULT_FROM_EMAIL"] == default["SERVER_EMAIL"] == "civicpost@localhost"
    smtp = setting_values(
        *names,
        "SERVER_EMAIL",
        EMAIL_URL="smtp+tls://civicpost%40city.example.gov:s3cret%3Ax@smtp.city.example.gov:587",
        DJANGO_SERVER_EMAIL="errors@city.example.gov",
    )
    assert smtp == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.city.example.gov",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "civicpost@city.example.gov",
        "EMAIL_HOST_PASSWORD": "s3cret:x",
        "EMAIL_USE_TLS": True,
        "SERVER_EMAIL": "errors@city.example.gov",
    }


def test_the_digest_hour_and_zone_come_from_the_environment() -> None:
    assert setting_values("CIVICPOST_DIGEST_HOUR", "CIVICPOST_DIGEST_TIME_ZONE") == {
        "CIVICPOST_DIGEST_HOUR": 7,
        "CIVICPOST_DIGEST_TIME_ZONE": "America/Chicago",
    }
    assert setting_values(
        "CIVICPOST_DIGEST_HOUR",
        "CIVICPOST_DIGEST_TIME_ZONE",
        CIVICPOST_DIGEST_HOUR="6",
        CIVICPOST_DIGEST_TIME_ZONE="Europe/Berlin",
    ) == {"CIVICPOST_DIGEST_HOUR": 6, "CIVICPOST_DIGEST_TIME_ZONE": "Europe/Berlin"}
    wrong_zone = start_settings(**SECRET_KEY_ONLY, CIVICPOST_DIGEST_TIME_ZONE="Central Time")
    assert "CIVICPOST_DIGEST_TIME_ZONE must be a time zone name" in wrong_zone.stderr
    wrong_hour = start_settings(**SECRET_KEY_ONLY, CIVICPOST_DIGEST_HOUR="24")
    assert "CIVICPOST_DIGEST_HOUR must be an hour from 0 to 23" in wrong_hour.stderr


def test_behind_the_proxy_sign_in_limits_count_the_address_it_forwards() -> None:
    names = ("ALLAUTH_TRUSTED_PROXY_COUNT", "ALLAUTH_TRUSTED_CLIENT_IP_HEADER")
    assert setting_values(*names) == {"ALLAUTH_TRUSTED_PROXY_COUNT": 0, "ALLAUTH_TRUSTED_CLIENT_IP_HEADER": None}
    assert setting_values(*names, DJANGO_BEHIND_PROXY="true") == {
        "ALLAUTH_TRUSTED_PROXY_COUNT": 1,
        "ALLAUTH_TRUSTED_CLIENT_IP_HEADER": None,
    }
    assert setting_values(
        *names, DJANGO_BEHIND_PROXY="true", CIVICPOST_TRUSTED_PROXY_COUNT="2", CIVICPOST_TRUSTED_CLIENT_IP_HEADER=""
    ) == {"ALLAUTH_TRUSTED_PROXY_COUNT": 2, "ALLAUTH_TRUSTED_CLIENT_IP_HEADER": None}
    assert setting_values(*names, CIVICPOST_TRUSTED_CLIENT_IP_HEADER="X-Real-IP") == {
        "ALLAUTH_TRUSTED_PROXY_COUNT": 0,
        "ALLAUTH_TRUSTED_CLIENT_IP_HEADER": "X-Real-IP",
    }


def test_production_settings_pass_the_deploy_checks() -> None:
    result = check_deploy(**PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout


def test_the_deploy_checks_catch_unsafe_production_settings() -> None:
    result = check_deploy(
        **{
            **PRODUCTION_ENV,
            "DJANGO_SECURE_HSTS_SECONDS": "0",
            "DJANGO_SECRET_KEY": "too-short",
            "DJANGO_DEBUG": "true",
        }
    )
    assert result.returncode != 0
    for warning in ("security.W004", "security.W009", "security.W018"):
        assert warning in result.stderr + result.stdout


def test_every_environment_variable_is_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, flags=re.MULTILINE))
    missing = settings_variables() - documented
    assert not missing, f"Document these in README.md, 'Configuration': {sorted(missing)}"
    stale = documented - settings_variables()
    assert not stale, f"README.md documents variables that settings.py no longer reads: {sorted(stale)}"


def test_every_environment_variable_is_listed_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    missing = settings_variables() - listed
    assert not missing, f"Add these to .env.example: {sorted(missing)}"


def locked(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


@pytest.mark.parametrize(("lock_file", "extra"), [("base.txt", None), ("dev.txt", "dev")])
def test_lock_files_pin_every_dependency_of_pyproject(lock_file: str, extra: str | None) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    if extra:
        wanted += project["optional-dependencies"][extra]
    pins = locked(ROOT / "requirements" / lock_file)
    problems = []
    for requirement in map(Requirement, wanted):
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} (locked: {version})")
    assert not problems, f"Run `make lock`: requirements/{lock_file} does not satisfy {problems}"


def test_every_built_in_platform_is_listed_in_the_readme() -> None:
    from scheduler.adapters.registry import BUILT_IN_PLATFORMS, get_adapter_class

    readme = (ROOT / "README.md").read_text()
    platforms = readme.split("## Platforms", 1)[1].split("\n### ", 1)[0]
    missing = [name for name in BUILT_IN_PLATFORMS if f"**{get_adapter_class(name).label}**" not in platforms]
    assert not missing, f"List these platforms in README.md, 'Platforms': {missing}"
