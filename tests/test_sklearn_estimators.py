"""chainrule.sklearn: scikit-learn's own estimator checks, pipelines, model selection, saving."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")  # validate_data and __sklearn_tags__ are 1.6

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.io import CheckpointError  # noqa: E402
from chainrule.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)])
def test_check_estimator(estimator, check):
    check(estimator)  # no expected-failure list: every check passes (those needing pandas skip without it)


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [4, 4], [0, 4]], np.float64)
    y = rng.integers(0, 3, n)
    return centers[y] + rng.normal(size=(n, 2)), y


SMALL = dict(model="16relu", epochs=30, lr=0.01, random_state=0)


def test_digits_pipeline_with_defaults_scores_at_least_093():
    X, y = load_digits(return_X_y=True)
    scores = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(random_state=0)), X, y, cv=3)
    assert scores.min() >= 0.93, scores  # measured: 0.957, 0.963, 0.942 (mean 0.954)


def test_clone_and_grid_search_over_lr():
    X, y = blobs()
    est = MLPClassifier(**SMALL)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "model_")
    search = GridSearchCV(est, {"lr": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert search.best_params_["lr"] == 1e-2  # 30 epochs at 1e-4 barely move the weights
    assert search.best_estimator_.score(X, y) > 0.9


def test_joblib_round_trip_predicts_the_same(tmp_path):
    joblib = pytest.importorskip("joblib")
    X, y = blobs()
    est = MLPClassifier(**SMALL).fit(X, y)
    joblib.dump(est, tmp_path / "est.joblib")  # the user's choice of pickle, never chainrule's storage
    again = joblib.load(tmp_path / "est.joblib")
    assert np.array_equal(again.predict_proba(X), est.predict_proba(X))
    again.partial_fit(X, y)  # the optimizer travelled with it
    assert again.n_iter_ == est.n_iter_ + 1


def test_classifier_save_load_safetensors(tmp_path):
    X, y = blobs()
    labels = np.array(["cat", "dog", "emu"])[y]
    est = MLPClassifier(**SMALL).fit(X, labels)
    path = tmp_path / "clf.safetensors"
    est.save(path)
    with open(path, "rb") as f:
        assert b"pickle" not in f.read(200)
    again = MLPClassifier.load(path)
    assert again.get_params() == est.get_params()
    assert np.array_equal(again.predict_proba(X), est.predict_proba(X))
    assert again.predict(X).tolist() == est.predict(X).tolist()
    assert again.classes_.tolist() == ["cat", "dog", "emu"] and again.loss_curve_ == est.loss_curve_
    assert isinstance(cr.load(path), cr.Classifier)  # the same file is a plain chainrule checkpoint


def test_integer_labels_survive_save_load(tmp_path):
    X, y = blobs()
    est = MLPClassifier(**SMALL).fit(X, y * 10 - 5)
    est.save(tmp_path / "clf.safetensors")
    again = MLPClassifier.load(tmp_path / "clf.safetensors")
    assert again.classes_.tolist() == [-5, 5, 15] and again.classes_.dtype.kind == "i"
    assert np.array_equal(again.predict(X), est.predict(X))


def test_load_refuses_a_plain_checkpoint_and_the_other_estimator(tmp_path):
    clf = cr.Classifier.from_spec("4relu", 2, ["a", "b"])
    cr.save(clf, tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="not a saved scikit-learn estimator"):
        MLPClassifier.load(tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="not a saved MLPRegressor"):
        MLPRegressor.load(tmp_path / "plain.safetensors")


def test_string_labels():
    X, y = blobs()
    labels = np.array(["b", "a", "c"])[y]
    est = MLPClassifier(**SMALL).fit(X, labels)
    assert est.classes_.tolist() == ["a", "b", "c"]
    assert set(est.predict(X)) <= {"a", "b", "c"} and est.score(X, labels) > 0.9
    assert est.predict_proba(X).shape == (len(X), 3)


def test_float64_input_is_float32_in_the_net():
    X, y = blobs()
    assert X.dtype == np.float64
    est = MLPClassifier(**SMALL).fit(X, y)
    assert all(p.data.dtype == np.float32 for p in est.model_.net.parameters())
    assert all(buf.dtype == np.float32 for state in est._optimizer.state_dict()["state"].values()
               for buf in state.values() if buf.ndim)
    assert est.predict_proba(X).dtype == np.float32
    assert est.n_features_in_ == 2 and len(est.loss_curve_) == est.n_iter_ == 30


def test_val_split_is_zero_by_default_and_patience_stops_with_a_split():
    X, y = blobs(300)
    assert MLPClassifier().val_split == 0
    est = MLPClassifier(model="16relu", epochs=500, lr=0.05, val_split=0.2, patience=3, random_state=0).fit(X, y)
    assert est.n_iter_ < 500


def test_partial_fit_adds_an_epoch():
    X, y = blobs()
    est = MLPClassifier(**SMALL)
    with pytest.raises(ValueError, match="classes must be given"):
        est.partial_fit(X, y)
    est.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1
    for _ in range(20):
        est.partial_fit(X, y)
    assert est.n_iter_ == 21 and est.loss_curve_[-1] < est.loss_curve_[0]
    with pytest.raises(ValueError, match="not in classes"):
        est.partial_fit(X[:3], [0, 1, 7])
    fitted = MLPClassifier(**SMALL).fit(X, y)
    fitted.partial_fit(X, y)
    assert fitted.n_iter_ == 31


def test_bad_parameters_are_named_at_fit():
    X, y = blobs()
    est = MLPClassifier(lr=-1)  # scikit-learn's rule: no checks in __init__
    with pytest.raises(ValueError, match="lr must be a positive number"):
        est.fit(X, y)
    with pytest.raises(ValueError, match="model SPEC"):
        MLPClassifier(model="12potato").fit(X, y)


def sine(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 1))
    return X, np.sin(X[:, 0])


def test_regressor_fits_a_sine():
    X, y = sine()
    reg = MLPRegressor(random_state=0).fit(X, y)  # the defaults
    Xt, yt = sine(200, seed=1)
    assert reg.score(Xt, yt) > 0.99  # measured: 0.998 on held-out points
    assert reg.predict(Xt).shape == (200,) and reg.predict(Xt).dtype == np.float64
    assert all(p.data.dtype == np.float32 for p in reg.model_.parameters())
    x32 = Xt.astype(np.float32)  # float32 in, float32 out, as scikit-learn's MLPRegressor: no upcast
    assert reg.predict(x32).dtype == np.float32 and reg.predict(Xt.tolist()).dtype == np.float64
    assert np.array_equal(reg.predict(x32), reg.predict(Xt).astype(np.float32))


def test_regressor_two_targets_partial_fit_and_save_load(tmp_path):
    X, y = sine()
    Y = np.stack([y, 100 * np.cos(X[:, 0])], axis=1)  # unlike scales: targets are standardized for training
    reg = MLPRegressor(model="32tanh", epochs=60, lr=0.01, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (len(X), 2) and reg.score(X, Y) > 0.98  # measured: 0.995
    reg.partial_fit(X, Y)
    assert reg.n_iter_ == 61
    reg.save(tmp_path / "reg.safetensors")
    again = MLPRegressor.load(tmp_path / "reg.safetensors")
    assert np.array_equal(again.predict(X), reg.predict(X)) and again.get_params() == reg.get_params()
    back = pickle.loads(pickle.dumps(reg))
    assert np.array_equal(back.predict(X), reg.predict(X))


def test_verbose_prints_a_line_per_epoch(capsys):
    X, y = blobs()
    MLPClassifier(model="4relu", epochs=3, verbose=True).fit(X, y)
    MLPRegressor(model="4relu", epochs=2, val_split=0.2, verbose=True).fit(X, y.astype(float))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[-1].startswith("epoch 2/2: loss ") and "val loss" in lines[-1]
    MLPClassifier(model="4relu", epochs=3).fit(X, y)
    assert capsys.readouterr().out == ""


def test_without_scikit_learn_the_error_names_the_extra():
    script = ("import sys; sys.modules['sklearn'] = None\n"
              "try:\n    import chainrule.sklearn\n"
              "except ModuleNotFoundError as e:\n    print(e.name, '|', e)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "sklearn | chainrule.sklearn needs scikit-learn: pip install 'chainrule[sklearn]'"


def test_numpy_parameters_save_as_json(tmp_path):
    X, y = blobs()
    est = MLPClassifier(model="4relu", epochs=np.int64(3), lr=np.float64(0.01), random_state=np.int64(0)).fit(X, y)
    est.save(tmp_path / "clf.safetensors")
    again = MLPClassifier.load(tmp_path / "clf.safetensors")
    assert (again.epochs, again.lr, again.random_state) == (3, 0.01, 0)


def test_feature_names_in_from_a_dataframe(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = blobs()
    frame = pd.DataFrame(X, columns=["width", "height"])
    est = MLPClassifier(**SMALL).fit(frame, y)
    assert est.feature_names_in_.tolist() == ["width", "height"]
    est.save(tmp_path / "clf.safetensors")
    assert MLPClassifier.load(tmp_path / "clf.safetensors").feature_names_in_.tolist() == ["width", "height"]


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_partial_fit_checks_parameters_before_building_a_network(Estimator):
    X, y = blobs()
    est = Estimator(batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        est.partial_fit(X, y, classes=[0, 1, 2]) if Estimator is MLPClassifier else est.partial_fit(X, y)
    assert not hasattr(est, "model_")
