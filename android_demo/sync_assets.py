"""Copies one exported student model, its sidecar, vocab.tsv and golden.json into the Android app's assets,
and the on-device export (student_fp32_on_device.tflite, its sidecar, golden_on_device.json) if any.

Usage: python android_demo/sync_assets.py --export_dir artifacts/synthetic [--variant fp32] [--role student]

Standard library only. Refuses to copy anything unless the models and the vocab hash to what the sidecars
record, the vocab has n_items lines and each golden file was produced from the same model bytes.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

APP_ASSETS_DIR = Path(__file__).resolve().parent / "app" / "src" / "main" / "assets"
VARIANTS = ("fp32", "fp16", "dynamic_int8", "full_int8", "qat_int8")
ROLES = ("student", "teacher")
ON_DEVICE_SIDECAR = "student_fp32_on_device.json"
GOLDEN_ON_DEVICE = "golden_on_device.json"


class SyncError(Exception):
    """An export folder that cannot be synced; the message says what disagrees and what to do."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise SyncError(f"{what} not found: {path} (is --export_dir a convert/to_tflite.py output folder?)")
    return path


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SyncError(f"{path} is not valid JSON: {error}") from error


def plan_sync(export_dir: Path, role: str, variant: str) -> list[Path]:
    """Checks an export folder and returns the files to copy.

    Args:
      export_dir: a `convert/to_tflite.py --out` folder.
      role: `student` or `teacher`.
      variant: one of VARIANTS.

    Returns:
      [model, sidecar, vocab, golden] paths inside export_dir.

    Raises:
      SyncError: naming the file and the field that disagree.
    """
    stem = f"{role}_{variant}"
    sidecar_path = _require_file(export_dir / f"{stem}.json", "sidecar")
    sidecar = _load_json(sidecar_path)
    for field in ("model_file", "sha256", "vocab_file", "vocab_sha256", "n_items"):
        if field not in sidecar:
            raise SyncError(f"{sidecar_path} has no field '{field}' (see docs/artifacts.md)")
    model_path = _require_file(export_dir / sidecar["model_file"], "model")
    if model_path.name != f"{stem}.tflite":
        raise SyncError(f"{sidecar_path} names model_file '{model_path.name}', expected '{stem}.tflite'")
    model_sha = sha256_of(model_path)
    if model_sha != sidecar["sha256"].lower():
        raise SyncError(f"{model_path.name} hashes to {model_sha} but {sidecar_path.name} records "
                        f"{sidecar['sha256']}; re-run the export instead of mixing folders")
    vocab_path = _require_file(export_dir / sidecar["vocab_file"], "vocab")
    vocab_sha = sha256_of(vocab_path)
    if vocab_sha != sidecar["vocab_sha256"].lower():
        raise SyncError(f"{vocab_path.name} hashes to {vocab_sha} but {sidecar_path.name} records "
                        f"{sidecar['vocab_sha256']}")
    with vocab_path.open("rb") as stream:
        item_lines = sum(1 for _ in stream) - 1  # minus the header
    if item_lines != sidecar["n_items"]:
        raise SyncError(f"{vocab_path.name} has {item_lines} item lines but {sidecar_path.name} says "
                        f"n_items = {sidecar['n_items']}")
    golden_path = _require_file(export_dir / "golden.json", "golden.json")
    golden = _load_json(golden_path)
    if golden.get("model_sha256", "").lower() != model_sha:
        raise SyncError(f"golden.json records model_sha256 {golden.get('model_sha256')} "
                        f"({golden.get('model_file')}), but {model_path.name} hashes to {model_sha}; "
                        f"the golden tests need the model golden.json was made with (usually --variant fp32)")
    return [model_path, sidecar_path, vocab_path, golden_path, *_plan_on_device(export_dir, vocab_sha)]


def _plan_on_device(export_dir: Path, vocab_sha: str) -> list[Path]:
    """The on-device export's files, checked, or [] when the folder has none."""
    sidecar_path = export_dir / ON_DEVICE_SIDECAR
    if not sidecar_path.is_file():
        return []
    sidecar = _load_json(sidecar_path)
    model_path = _require_file(export_dir / sidecar.get("model_file", ""), "on-device model")
    model_sha = sha256_of(model_path)
    if model_sha != sidecar.get("sha256", "").lower():
        raise SyncError(
            f"{model_path.name} hashes to {model_sha} but {ON_DEVICE_SIDECAR} records "
            f"{sidecar.get('sha256')}; re-run the export instead of mixing folders"
        )
    if sidecar.get("vocab_sha256", "").lower() != vocab_sha:
        raise SyncError(f"{ON_DEVICE_SIDECAR} records another vocab than the model's; re-run the export")
    golden_path = _require_file(export_dir / GOLDEN_ON_DEVICE, GOLDEN_ON_DEVICE)
    if _load_json(golden_path).get("model_sha256", "").lower() != model_sha:
        raise SyncError(
            f"{GOLDEN_ON_DEVICE} was made for another model than {model_path.name}; re-run the export"
        )
    return [model_path, sidecar_path, golden_path]


def _stale_assets(assets_dir: Path) -> list[Path]:
    """Models, sidecars and golden files of an earlier sync, so that the app finds exactly one model."""
    stale = []
    for path in sorted(assets_dir.glob("*")):
        is_model = path.suffix == ".tflite"
        is_sidecar = path.suffix == ".json" and path.stem.split("_", 1)[0] in ROLES
        if path.is_file() and (is_model or is_sidecar or path.name == GOLDEN_ON_DEVICE):
            stale.append(path)
    return stale


def sync(export_dir: Path, assets_dir: Path, role: str, variant: str) -> list[Path]:
    """Copies the checked files into assets_dir, replacing an earlier sync, and verifies the copies.

    Returns:
      The destination paths.

    Raises:
      SyncError: if the export folder is inconsistent or a copy does not hash like its source.
    """
    sources = plan_sync(export_dir, role, variant)
    assets_dir.mkdir(parents=True, exist_ok=True)
    for path in _stale_assets(assets_dir):
        path.unlink()
    copied = []
    for source in sources:
        destination = assets_dir / source.name
        # Copy beside the destination and rename, so an interrupted sync never leaves a truncated model.
        handle, temporary = tempfile.mkstemp(dir=assets_dir, prefix=f".{source.name}.")
        os.close(handle)
        shutil.copyfile(source, temporary)
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; assets are ordinary readable files
        os.replace(temporary, destination)
        if sha256_of(destination) != sha256_of(source):
            raise SyncError(f"copy of {source} to {destination} does not hash like its source")
        copied.append(destination)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export_dir", required=True, type=Path,
                        help="a convert/to_tflite.py output folder, e.g. artifacts/synthetic")
    parser.add_argument("--variant", default="fp32", choices=VARIANTS, help="which flatbuffer to bundle")
    parser.add_argument("--role", default="student", choices=ROLES, help="student (the demo) or teacher")
    parser.add_argument("--assets_dir", default=APP_ASSETS_DIR, type=Path,
                        help="destination; defaults to the app's src/main/assets")
    args = parser.parse_args(argv)
    try:
        copied = sync(args.export_dir, args.assets_dir, args.role, args.variant)
    except SyncError as error:
        print(f"sync_assets.py: {error}", file=sys.stderr)
        return 1
    for path in copied:
        print(f"{path}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
