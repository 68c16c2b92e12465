import pytest

from api.config import DEFAULT_DATABASE_URL, Settings, SettingsError, parse_duration
from tests.helpers import english


def test_defaults_use_a_sqlite_file_under_var() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.sqlite_path() is not None
    assert str(settings.sqlite_path()).startswith("var")
    assert settings.port == 8000 and not settings.production


def test_values_are_read_with_the_prefix() -> None:
    settings = Settings.from_env(
        {
            "GRIDLINK_DATABASE_URL": "postgresql://u@h/db",
            "GRIDLINK_ENV": "production",
            "GRIDLINK_PORT": "9001",
            "GRIDLINK_TOKEN_LIFETIME": "12h",
        }
    )
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.production and settings.port == 9001
    assert settings.token_lifetime_seconds == 12 * 3600


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GRIDLINK_PORT", "eighty"),
        ("GRIDLINK_PORT", "70000"),
        ("GRIDLINK_ENV", "staging"),
        ("GRIDLINK_DATABASE_URL", "mysql://x@y/z"),
        ("GRIDLINK_TOKEN_LIFETIME", "forever"),
        ("GRIDLINK_TOKEN_LIFETIME", "-5"),
        ("GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS", "maybe"),
        ("GRIDLINK_VAPID_SUBJECT", "admin@example.org"),
        ("GRIDLINK_MAX_PAGE_SIZE", "0"),
    ],
)
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert variable in str(caught.value)


def test_durations() -> None:
    assert parse_duration("x", "90d") == 90 * 86400
    assert parse_duration("x", "30m") == 1800
    assert parse_duration("x", "45") == 45


def test_risk_weights_from_the_environment(tmp_path) -> None:
    from api.warnings.models import RiskLevel
    from api.warnings.rules import DEFAULT_RULES

    inline = Settings.from_env(
        {"GRIDLINK_RISK_RULES": '{"overdue_points": 5, "enterprise_thresholds": {"RED": 20}}'}
    )
    assert inline.risk_rules.overdue_points == 5
    assert inline.risk_rules.enterprise_thresholds[RiskLevel.RED] == 20
    assert inline.risk_rules.enterprise_thresholds[RiskLevel.YELLOW] == 3  # the rest kept
    path = tmp_path / "risk.json"
    path.write_text('{"notify_at": "RED"}')
    from_file = Settings.from_env({"GRIDLINK_RISK_RULES": f"@{path}"})
    assert from_file.risk_rules.notify_at == RiskLevel.RED
    assert Settings.from_env({}).risk_rules is DEFAULT_RULES


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"overdue": 3}', "unknown key 'overdue'"),
        ('{"overdue_points": -1}', "overdue_points must be a whole number"),
        ('{"severity_points": {"HUGE": 9}}', "severity_points: unknown 'HUGE'"),
        ('{"notify_at": "PURPLE"}', "notify_at must be GREEN, YELLOW, ORANGE or RED"),
        ("@/nonexistent/risk.json", "cannot read"),
    ],
)
def test_bad_risk_weights_stop_start_up(value: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"GRIDLINK_RISK_RULES": value})
    assert "GRIDLINK_RISK_RULES" in str(caught.value) and says in english(caught.value.args[0])
