"""Configuration problems located at file:line:column, with the source and a did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from islandbridge.config import ConfigError, PipelineConfig, load_config
from islandbridge.located_yaml import YamlPositions, validate_yaml
from quality.config import QualityConfig

GOOD = """\
university: 测试大学
sources:
  - name: roster
    department: org_dept
    entity: member
    connector: file
    file: {path: roster.csv, format: csv}
    columns: &roster_columns
      身份证号码: id_number
      姓名: name
  - name: signins
    department: branches
    entity: attendance
    connector: file
    file:
      path: "*.csv"
      format: csv
    columns:
      学号: person_no
      日期: meeting_date
"""


def _write(tmp_path: Path, text: str, name: str = "islandbridge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def test_a_good_file_validates(tmp_path):
    config, problems = validate_yaml(_write(tmp_path, GOOD), PipelineConfig)
    assert problems == [] and config is not None and len(config.sources) == 2


def test_unknown_key_is_located_at_the_key_with_a_suggestion(tmp_path):
    text = GOOD.replace("    department: branches", "    departmnet: branches")
    _, problems = validate_yaml(_write(tmp_path, text), PipelineConfig)
    missing, problem = sorted(problems, key=lambda p: "unknown" in p.message)
    assert "missing required key 'department'" in missing.message
    assert (problem.line, problem.column) == (_line_of(text, "departmnet"), 5)
    assert problem.source == "signins"
    assert "unknown key 'departmnet'" in problem.message and "'department'" in problem.message


def test_wrong_type_is_located_at_the_value(tmp_path):
    text = GOOD.replace("      format: csv\n", "      format: csv\n      chunk_rows: [1]\n")
    _, [problem] = validate_yaml(_write(tmp_path, text), PipelineConfig)
    assert problem.line == _line_of(text, "chunk_rows") and problem.column == 19
    assert "file.chunk_rows" in problem.message and problem.source == "signins"


def test_a_wrong_literal_suggests_the_closest(tmp_path):
    text = GOOD.replace("format: csv}", "format: cvs}")
    _, [problem] = validate_yaml(_write(tmp_path, text), PipelineConfig)
    assert problem.line == _line_of(text, "cvs") and "did you mean 'csv'" in problem.message


def test_a_missing_key_points_at_the_mapping_that_lacks_it(tmp_path):
    text = GOOD.replace("    department: org_dept\n", "")
    _, [problem] = validate_yaml(_write(tmp_path, text), PipelineConfig)
    assert problem.line == _line_of(text, "name: roster") and problem.source == "roster"
    assert "missing required key 'department'" in problem.message


def test_duplicate_keys_are_reported_not_collapsed(tmp_path):
    text = GOOD.replace("university: 测试大学\n", "university: 测试大学\nuniversity: 另一所\n")
    config, [problem] = validate_yaml(_write(tmp_path, text), PipelineConfig)
    assert config is None and problem.line == 2 and "appears twice" in problem.message


def test_not_yaml_is_located(tmp_path):
    text = GOOD.replace("    entity: member\n", "    entity: member\n   - broken: [\n")
    config, [problem] = validate_yaml(_write(tmp_path, text), PipelineConfig)
    assert config is None and problem.line is not None and "not valid YAML" in problem.message


def test_a_missing_file_is_one_problem(tmp_path):
    _, [problem] = validate_yaml(tmp_path / "nowhere.yaml", PipelineConfig)
    assert problem.message == "file not found"


def test_an_unknown_rule_kind_and_key_in_quality_rules(tmp_path):
    text = """\
version: 1
entities:
  member:
    rules:
      - {rule: requird, column: name, code: name_missing}
      - {rule: min_age, event_column: applicant_on, yeas: 18, code: applicant_under_18}
"""
    _, problems = validate_yaml(_write(tmp_path, text, "quality.yaml"), QualityConfig)
    messages = {p.line: p.message for p in problems}
    assert "rule 'requird' is not known — did you mean 'required'?" in messages[5]
    assert "unknown key 'yeas' — did you mean 'years'?" in messages[6]


def test_load_config_raises_with_every_problem_located(tmp_path):
    text = GOOD.replace("departmnet", "x").replace("    department: branches", "    dept: branches")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:{_line_of(text, 'dept:')}:5" in str(caught.value)
    assert caught.value.problems and caught.value.problems[0].source == "signins"


def test_positions_of_settings_and_of_merged_keys(tmp_path):
    path = _write(tmp_path, GOOD)
    positions = YamlPositions(path)
    assert positions.at(("sources", 1, "file", "path")) == f"{path}:{_line_of(GOOD, '*.csv')}:13"
    assert positions.at(("publish", "signing_key")) == str(path)  # a default: the file
    assert positions.at(("sources", 0, "signature"), nearest=True).startswith(f"{path}:3:")
    assert positions.source_index("signins") == 1
