"""Outputs as a terminal shows them; rich and hostile outputs made safe."""

import base64

import pytest
from nbformat.v4 import new_output

from kernelblog.outputs import (
    MAX_LINES,
    Error,
    Html,
    Image,
    Rejected,
    Text,
    TextCap,
    page_outputs,
    terminal_text,
)

PROGRESS = (
    "\r\x1b[1m1/2\x1b[0m \x1b[32m━━━━━\x1b[0m - loss: 6.3157"
    + "\b" * 30
    + "\r\x1b[1m2/2\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m - loss: 5.9208\n"
)


def test_progress_bar_collapses_to_its_last_state():
    assert terminal_text("Epoch 1/2\n" + PROGRESS) == "Epoch 1/2\n2/2 ━━━━━━━━━━ - loss: 5.9208\n"


def test_backspace_and_carriage_return():
    assert terminal_text("abcdef\b\bXY\n12345\r9\n") == "abcdXY\n92345\n"


def test_tensorflow_startup_lines_are_dropped():
    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795506399.685249    2490 port.cc:153] oneDNN custom operations are on.\n"
        "E0000 00:00:1795506404.468813    2490 cuda_platform.cc:52] "
        "failed call to cuInit: UNKNOWN ERROR (303)\n"
        "real warning: keep me\n"
    )
    assert terminal_text(noise) == "real warning: keep me\n"


def test_consecutive_streams_merge_into_one_block():
    outputs = [new_output("stream", name="stdout", text=f"Epoch {i}/3\n") for i in range(1, 4)]
    noise = "W0000 00:00:1795506399.685249    2490 some_op.cc:12] any message\n"
    outputs.insert(1, new_output("stream", name="stderr", text=noise))
    assert page_outputs(outputs) == [Text("Epoch 1/3\nEpoch 2/3\nEpoch 3/3\n")]


def test_rich_pre_tables_become_text_and_merge():
    summary = [
        new_output(
            "display_data", data={"text/plain": f"row {i}\n", "text/html": f"<pre>row {i}</pre>"}
        )
        for i in range(2)
    ]
    assert page_outputs(summary) == [Text("row 0\nrow 1\n")]


def test_html_is_sanitized():
    hostile = (
        "<table><tr><td><b>ok</b></td></tr></table>"
        "<script>alert(1)</script><img src=x onerror=alert(1)>"
    )
    [block] = page_outputs([new_output("display_data", data={"text/html": hostile})])
    assert isinstance(block, Html)
    assert "<b>ok</b>" in block.html and "<table>" in block.html
    assert "script" not in block.html and "onerror" not in block.html


def test_images_and_errors():
    png = b"\x89PNG\r\n\x1a\nfake"
    outputs = [
        new_output(
            "display_data",
            data={"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"},
        ),
        new_output(
            "error",
            ename="ValueError",
            evalue="bad",
            traceback=["\x1b[0;31mValueError\x1b[0m: bad"],
        ),
    ]
    assert page_outputs(outputs) == [
        Image(png, "png", "<Figure>"),
        Error("ValueError", "ValueError: bad"),
    ]


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
HOSTILE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)">'
    '<script>alert(2)</script><rect width="4" height="4" onclick="alert(3)"/>'
    '<a xlink:href="javascript:alert(4)"><text>link</text></a><use href="#r"/>'
    '<foreignObject><iframe src="javascript:alert(5)"/></foreignObject>'
    '<set attributeName="href" to="javascript:alert(6)"/></svg>'
)


def test_svg_becomes_an_image_file_without_scripts():
    [block] = page_outputs(
        [new_output("display_data", data={"image/svg+xml": HOSTILE_SVG, "text/plain": "<Fig>"})]
    )
    assert isinstance(block, Image) and block.extension == "svg" and block.alt == "<Fig>"
    svg = block.data.decode()
    assert "<rect" in svg and 'href="#r"' in svg and "<text>link</text>" in svg
    for active in ("alert", "script", "onload", "onclick", "javascript", "foreignObject", "<set"):
        assert active not in svg


@pytest.mark.parametrize(
    "data, shown",
    [
        (
            {
                "application/javascript": "document.title = 'x'",
                "text/plain": "<IPython.core.display.Javascript object>",
            },
            "<IPython.core.display.Javascript object>\n",
        ),
        (
            {
                "application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                "text/plain": "IntSlider(value=3)",
            },
            "IntSlider(value=3)\n",
        ),
        (
            {
                "text/markdown": "<script>x</script>",
                "text/plain": "<IPython.core.display.Markdown object>",
            },
            "<IPython.core.display.Markdown object>\n",
        ),
        (
            {"application/javascript": "document.title = 'x'"},
            "[application/javascript output not shown]\n",
        ),
    ],
)
def test_active_outputs_fall_back_to_text(data, shown):
    assert page_outputs([new_output("display_data", data=data)]) == [Text(shown)]


@pytest.mark.parametrize(
    "data, metadata, reason",
    [
        ({"image/png": "not base64!"}, {}, "png output that is not valid base64"),
        (
            {"image/png": base64.b64encode(b"<html><script>x</script>").decode()},
            {},
            "not a PNG image",
        ),
        ({"image/jpeg": PNG}, {}, "not a JPG image"),
        (
            {"image/png": PNG},
            {"image/png": {"width": "100 onerror=alert(1)"}},
            "width '100 onerror=alert(1)'",
        ),
        ({"image/png": PNG}, {"image/png": {"height": 2.5}}, "height 2.5"),
        ({"image/svg+xml": "<html><script>x</script></html>"}, {}, "not a valid SVG document"),
        ({"image/svg+xml": "<svg"}, {}, "not a valid SVG document"),
    ],
)
def test_bad_images_are_rejected(data, metadata, reason):
    [block] = page_outputs([new_output("display_data", data=data, metadata=metadata)])
    assert isinstance(block, Rejected) and reason in block.reason


def test_image_size_is_kept_when_it_is_whole_pixels():
    output = new_output(
        "display_data", data={"image/png": PNG}, metadata={"image/png": {"width": 320}}
    )
    [block] = page_outputs([output])
    assert (block.width, block.height) == (320, None)


def test_long_text_is_cut_with_a_visible_marker():
    text = "".join(f"line {i}\n" for i in range(100_000))
    [block] = page_outputs([new_output("stream", name="stdout", text=text)])
    lines = block.text.split("\n")
    assert len(lines) == MAX_LINES + 1
    assert (
        "line 0" == lines[0]
        and "[... 99,001 lines not shown ...]" in lines
        and lines[-2] == "line 99999"
    )


def test_hostile_streams_stay_text():
    text = (
        "<script>alert(1)</script></pre><img src=x onerror=alert(1)>"
        "\x1b]8;;javascript:alert(1)\x1b\\link\n"
    )
    [block] = page_outputs([new_output("stream", name="stderr", text=text)])
    assert block == Text("<script>alert(1)</script></pre><img src=x onerror=alert(1)>link\n")


def test_text_cap_keeps_the_head_and_the_real_last_state():
    cap = TextCap(1000)
    shown = cap.take("stdout", "start\n")
    for step in range(1, 100_001):
        shown += cap.take("stdout", f"\rstep {step:6d}/100000")
    rest = cap.rest()
    assert shown.startswith("start\n") and len(shown) == 500
    assert rest[0][1].startswith(f"\n[... {cap.cut:,} characters not kept")
    assert "".join(text for _, text in rest[1:]).endswith("step 100000/100000")
    assert sum(len(text) for _, text in rest[1:]) == 500
    assert cap.cut == 6 + 19 * 100_000 - 1000
    assert (
        terminal_text(shown + "".join(text for _, text in rest)).splitlines()[-1]
        == "step 100000/100000"
    )


def test_text_cap_keeps_short_output_whole_and_in_order():
    cap = TextCap(1000)
    shown = cap.take("stdout", "a" * 400) + cap.take("stderr", "b" * 300)
    assert shown == "a" * 400 + "b" * 100
    assert cap.rest() == [("stderr", "b" * 200)] and cap.cut == 0
