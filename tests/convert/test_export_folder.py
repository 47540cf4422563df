"""Rivals of the student (--rivals): their names, their variants, and what is refused before any training.

Their export itself runs in test_to_tflite (the main job's run and the item-order round trip).
"""

import pytest

from convert.default_run import synthetic_dataset
from convert.export_folder import RIVAL_ROLE, ExportConfig, check_before_training, rival_names
from convert.quantize import VARIANTS
from distill.model_io import ModelFolderError


def test_a_rival_is_named_after_its_folder_in_file_safe_characters(tmp_path):
    folders = [tmp_path / "Student-Dense_fast", tmp_path / "sasrec  (2)", tmp_path / "x" / "."]
    assert rival_names(folders) == ["rival_student-dense-fast", "rival_sasrec-2", "rival_x"]
    with pytest.raises(ValueError, match="__.* has no letter or digit"):
        rival_names([tmp_path / "__"])


def test_a_rival_gets_the_students_variants_but_qat(tmp_path):
    config = ExportConfig(out=tmp_path, variants=VARIANTS, teacher_variants=("fp32",))
    assert config.role_variants(RIVAL_ROLE) == [v for v in VARIANTS if v != "qat_int8"]


def test_two_rivals_of_one_name_are_refused_before_training_naming_both(tiny_dataset, tmp_path):
    first, second = tmp_path / "a" / "Dense", tmp_path / "b" / "dense"
    config = ExportConfig(out=tmp_path / "out", top_k=5, rivals=(first, second))
    with pytest.raises(ValueError, match="both be exported as rival_dense_<variant>") as error:
        check_before_training(tiny_dataset, config, [], max_len=8)
    assert str(first) in str(error.value) and str(second) in str(error.value)


def test_a_rival_of_another_catalogue_is_refused_before_training_naming_it(tiny_teacher, tmp_path):
    teacher_dir, _ = tiny_teacher
    other = synthetic_dataset(40, 48, seed=0)
    config = ExportConfig(out=tmp_path / "out", top_k=5, rivals=(teacher_dir,))
    with pytest.raises(ModelFolderError, match="items") as error:
        check_before_training(other, config, [], max_len=8)
    message = str(error.value)
    assert message.startswith(f"rival {teacher_dir} was trained on") and message.endswith("with --rivals")
