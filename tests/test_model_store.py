import hashlib
import json
import shutil

import numpy as np
import pytest

from escalation import LABELS, ModelError, load_model, save_model
from escalation.store import default_model_path


def copy_model(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(default_model_path(), target)
    return target


def test_shipped_model_card_describes_its_training(model):
    card = model.card
    assert card["labels"] == list(LABELS) == list(model.classes_)
    assert len(card["training"]["sha256"]) == 64
    assert sum(card["training"]["rows_per_label"].values()) == card["training"]["rows"]
    assert {"numpy", "scikit-learn", "python"} <= set(card["versions"])
    assert 0 <= card["evaluation"]["cross_validation"]["macro_f1"] <= 1
    assert card["created"]


def test_probabilities_sum_to_one(model):
    p = model.predict_proba(["Troops massed on the border.", "", "Shares rose 3 percent."])
    assert p.shape == (3, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def test_env_variable_selects_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCALATION_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match="no model folder"):
        load_model()


@pytest.mark.parametrize("name", ["card.json", "features.json", "weights.npz"])
def test_missing_file_is_a_model_error(tmp_path, name):
    folder = copy_model(tmp_path)
    (folder / name).unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(folder)


def test_altered_weights_fail_the_checksum(tmp_path):
    folder = copy_model(tmp_path)
    with open(folder / "weights.npz", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="checksum"):
        load_model(folder)


def test_pickled_arrays_are_refused_even_with_a_matching_checksum(tmp_path):
    folder = copy_model(tmp_path)
    with np.load(folder / "weights.npz") as arrays:
        data = dict(arrays)
    data["coef"] = np.array([{"payload": "code"}], dtype=object)  # needs pickle to load
    np.savez(folder / "weights.npz", **data)
    card = json.loads((folder / "card.json").read_text())
    card["files"]["weights.npz"] = hashlib.sha256((folder / "weights.npz").read_bytes()).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="corrupt model"):
        load_model(folder)


def test_bad_json_card_is_a_model_error(tmp_path):
    folder = copy_model(tmp_path)
    (folder / "card.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        load_model(folder)


def test_save_round_trips(tmp_path, model):
    out = save_model(model, tmp_path / "copy", {"training": {"rows": 1}})
    again = load_model(out)
    texts = ["Sirens sounded across the city.", "The envoy met the king."]
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))
    assert oct(out.stat().st_mode & 0o777) == "0o755"


def test_a_crash_while_saving_leaves_the_old_model_in_place(tmp_path, model, monkeypatch):
    from escalation import store

    dest = save_model(model, tmp_path / "m", {"note": "old"})

    def crash(staging, dest):
        raise KeyboardInterrupt("killed before the new model was put in place")

    monkeypatch.setattr(store, "_replace_folder", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, dest, {"note": "new"})
    assert load_model(dest).card["note"] == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging folder left behind


def test_saving_over_a_model_swaps_it_whole(tmp_path, model):
    dest = save_model(model, tmp_path / "m", {"note": "old"})
    save_model(model, dest, {"note": "new"})
    assert load_model(dest).card["note"] == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
