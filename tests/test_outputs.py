"""Outputs as a terminal shows them; rich and hostile outputs made safe."""

import base64

from nbformat.v4 import new_output

from kernelblog.outputs import Error, Html, Image, Text, page_outputs, terminal_text

PROGRESS = ("\r\x1b[1m1/2\x1b[0m \x1b[32m━━━━━\x1b[0m - loss: 6.3157"
            + "\b" * 30 + "\r\x1b[1m2/2\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m - loss: 5.9208\n")


def test_progress_bar_collapses_to_its_last_state():
    assert terminal_text("Epoch 1/2\n" + PROGRESS) == "Epoch 1/2\n2/2 ━━━━━━━━━━ - loss: 5.9208\n"


def test_backspace_and_carriage_return():
    assert terminal_text("abcdef\b\bXY\n12345\r9\n") == "abcdXY\n92345\n"


def test_tensorflow_startup_lines_are_dropped():
    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795506399.685249    2490 port.cc:153] oneDNN custom operations are on.\n"
        "E0000 00:00:1795506404.468813    2490 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n"
        "real warning: keep me\n"
    )
    assert terminal_text(noise) == "real warning: keep me\n"


def test_consecutive_streams_merge_into_one_block():
    outputs = [new_output("stream", name="stdout", text=f"Epoch {i}/3\n") for i in range(1, 4)]
    noise = "W0000 00:00:1795506399.685249    2490 some_op.cc:12] any message\n"
    outputs.insert(1, new_output("stream", name="stderr", text=noise))
    assert page_outputs(outputs) == [Text("Epoch 1/3\nEpoch 2/3\nEpoch 3/3\n")]


def test_rich_pre_tables_become_text_and_merge():
    summary = [new_output("display_data", data={"text/plain": f"row {i}\n", "text/html": f"<pre>row {i}</pre>"})
               for i in range(2)]
    assert page_outputs(summary) == [Text("row 0\nrow 1\n")]


def test_html_is_sanitized():
    hostile = "<table><tr><td><b>ok</b></td></tr></table><script>alert(1)</script><img src=x onerror=alert(1)>"
    [block] = page_outputs([new_output("display_data", data={"text/html": hostile})])
    assert isinstance(block, Html)
    assert "<b>ok</b>" in block.html and "<table>" in block.html
    assert "script" not in block.html and "onerror" not in block.html


def test_images_and_errors():
    png = b"\x89PNG\r\n\x1a\nfake"
    outputs = [
        new_output("display_data", data={"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"}),
        new_output("error", ename="ValueError", evalue="bad", traceback=["\x1b[0;31mValueError\x1b[0m: bad"]),
    ]
    assert page_outputs(outputs) == [Image(png, "png", "<Figure>"), Error("ValueError", "ValueError: bad")]
