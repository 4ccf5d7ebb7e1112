import json
import shutil

from click.testing import CliRunner

from escalation.cli import cli
from escalation.store import default_model_path

LABEL_ORDER = ["civilian-preparedness", "diplomatic", "military", "none"]


def run(*args, input=None, env=None):
    return CliRunner().invoke(cli, list(args), input=input, env=env)


def test_predict_table_one_line_per_text():
    result = run("predict", "Troops massed on the border.", "Shares in Tesco rose 2 percent.")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "military"
    assert lines[0].endswith("Troops massed on the border.")


def test_predict_json_schema_and_order():
    result = run("predict", "--json", "Talks resumed in Geneva.", "Sirens sounded over Kyiv.")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["text"] for r in records] == ["Talks resumed in Geneva.", "Sirens sounded over Kyiv."]
    for r in records:
        assert list(r) == ["text", "label", "scores"]
        assert list(r["scores"]) == LABEL_ORDER
        assert abs(sum(r["scores"].values()) - 1) < 1e-9
        assert r["label"] == max(r["scores"], key=r["scores"].get)


def test_predict_reads_stdin_and_skips_blank_lines():
    result = run("predict", "--json", input="Troops crossed the river.\n\n   \nTalks ended.\n")
    assert result.exit_code == 0
    assert [json.loads(l)["text"] for l in result.output.splitlines()] == [
        "Troops crossed the river.",
        "Talks ended.",
    ]


def test_non_utf8_stdin_is_a_one_line_error():
    result = run("predict", input=b"fine line\n\xff\xfe broken\n")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: <stdin>:2: not valid UTF-8"


def test_unknown_option_is_a_one_line_error():
    result = run("predict", "--bogus", "x")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "No such option" in result.output and "Traceback" not in result.output


def test_missing_model_is_a_one_line_error(tmp_path):
    result = run("predict", "--model", str(tmp_path / "absent"), "x")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'absent'}: no model folder there"


def test_corrupt_model_via_environment_is_a_one_line_error(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(default_model_path(), folder)
    (folder / "features.json").write_text("[]")
    result = run("predict", "x", env={"ESCALATION_MODEL": str(folder)})
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "checksum does not match" in result.output


def test_info_prints_the_card():
    result = run("info", "--json")
    assert result.exit_code == 0
    card = json.loads(result.output)
    assert card["labels"] == LABEL_ORDER
    human = run("info")
    assert "trained on:" in human.output and card["training"]["sha256"] in human.output


def test_every_command_has_help_with_an_example():
    for name in cli.commands:
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert "Example" in result.output, name
