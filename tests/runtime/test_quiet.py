"""runtime.quiet: chatter leaves stderr, everything else passes, in this process and in its children."""

import os
import subprocess
import sys

import pytest

from runtime.quiet import CHATTER, quiet_stderr, verbosity_asked

CHATTY = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796239717.607512   13514 cudart_stub.cc:31] Could not find cuda drivers on your machine.",
    "E0000 00:00:1796239721.455452   13514 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)",
    "W1202 19:29:35.311241 140133703711616 save_impl.py:68] Skipping full serialization of TF-Keras layer",
    "WARNING:tensorflow:Skipping full serialization of TF-Keras layer <Softmax>, because it is not built.",
    "INFO:tensorflow:Assets written to: /tmp/odrec_teacher/float_sentinel/assets",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "fully_quantize: 0, inference_type: 6, input_inference_type: FLOAT32, output_inference_type: FLOAT32",
    "/venv/lib/python3.11/site-packages/tensorflow/lite/python/interpreter.py:457: UserWarning: deprecated",
]
KEPT = [
    "error: --top_k=45 must be in 1..n_items - max_len = 48 - 8 = 40",
    "Traceback (most recent call last):",
    '  File "convert/to_tflite.py", line 3, in <module>',
    "F0000 00:00:1796239721.455452   13514 check.cc:52] Check failed: fatal lines stay",
    "/work/wt18/convert/summary.py:10: UserWarning: our own warnings stay",
]


@pytest.mark.parametrize("line", CHATTY)
def test_chatter_matches(line):
    assert CHATTER.match(line)


@pytest.mark.parametrize("line", KEPT)
def test_our_lines_do_not_match(line):
    assert not CHATTER.match(line)


def test_the_filter_drops_chatter_of_this_process_and_its_children(capfd):
    script = "import sys; sys.stderr.write({!r}); sys.stderr.write('child error: kept\\n')"
    with quiet_stderr():
        os.write(2, ("\n".join(CHATTY) + "\n").encode())
        os.write(2, b"error: kept\n/x/tensorflow/a.py:1: UserWarning: dropped\n  warnings.warn(x)\nlast\n")
        subprocess.run([sys.executable, "-c", script.format(CHATTY[1] + "\n")], check=True)
    captured = capfd.readouterr().err.splitlines()
    assert captured == ["error: kept", "last", "child error: kept"]


def test_disabled_leaves_stderr_alone(capfd):
    with quiet_stderr(enabled=False):
        os.write(2, (CHATTY[0] + "\n").encode())
    assert capfd.readouterr().err == CHATTY[0] + "\n"


@pytest.mark.parametrize(
    "argv, asked",
    [
        (["--verbosity=0"], True),
        (["--verbosity", "1"], True),
        (["-v=1"], True),
        (["--data=x.csv", "--format=csv"], False),
        (["--variants=fp32"], False),
    ],
)
def test_verbosity_asked(argv, asked):
    assert verbosity_asked(argv) is asked
