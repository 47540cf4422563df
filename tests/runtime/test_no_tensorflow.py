"""The harness runs where TensorFlow does not exist: every import of it is made to fail in a subprocess."""

import subprocess
import sys
from pathlib import Path

from tests.runtime.conftest import original_id

REPOSITORY = Path(__file__).resolve().parents[2]
BLOCKED = ("tensorflow", "tf_keras", "keras")
# Installed through sitecustomize so that it is active before any import, including under `python -m`.
BLOCKER = f'''
import sys

class _BlockTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} is blocked: the on-device runtime must not import it")
        return None

sys.meta_path.insert(0, _BlockTensorFlow())
'''
USE_HARNESS = f"""
import sys
import runtime.recommend, runtime.bench, runtime.evaluate, runtime.personalise, runtime.item_update
from runtime.history import encode_history
from runtime.litert import Recommender

recommender = Recommender(sys.argv[1])
item_ids, _ = recommender.recommend(encode_history([3, 5], recommender.max_len))
loaded = sorted(name for name in sys.modules if name.partition(".")[0] in {BLOCKED!r})
assert not loaded, loaded
print(item_ids.tolist())
"""


def _run_blocked(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    environment = {"PYTHONPATH": f"{tmp_path}:{REPOSITORY}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_blocker_blocks(tmp_path):
    result = _run_blocked(tmp_path, "-c", "import tensorflow")
    assert result.returncode != 0 and "blocked" in result.stderr


def test_harness_recommends_without_tensorflow(tmp_path, model_path, tiny_model):
    from runtime.history import encode_history

    expected_ids, _ = tiny_model.recommend(encode_history([3, 5], 4))
    result = _run_blocked(tmp_path, "-c", USE_HARNESS, str(model_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(expected_ids.tolist())


def test_recommend_cli_without_tensorflow(tmp_path, model_path):
    history = f"--history={original_id(3)} {original_id(5)}"
    result = _run_blocked(tmp_path, "-m", "runtime.recommend", f"--model={model_path}", history)
    assert result.returncode == 0, result.stderr
    assert "top-3" in result.stdout
