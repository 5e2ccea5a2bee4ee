"""The console in a real browser: Debian's chromium driven by Playwright, against real
`featureship serve` and `featureship console` processes on loopback.

Every task's page answers what REST answers for the same request and shows an explanation; the
cards, the report and the live charts come up; the page works keyboard-only and at 390 px; the
API-key prompt refuses a wrong key; a run started from the page fails with the CLI's message or
finishes and becomes tryable; axe-core finds no serious or critical violation. Screenshots go to
test-output/console/ (timings of the page loads too, reported, not asserted).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import featureship
from featureship.tasks import TASK_NAMES
from tests.conformance.cases import CASES
from tests.servers import running, served

pytestmark = pytest.mark.browser

OUT = Path(__file__).resolve().parents[2] / "test-output" / "console"
KEY = "console-test-key-0123456789abcdef"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _needed(message: str) -> None:
    if CI:
        pytest.fail(f"{message}; CI must have it")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _needed("playwright is not installed (pip install -e '.[dev]')")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _needed("Debian's chromium is not installed (make test installs it)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "timings.json").unlink(missing_ok=True)
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium refuses its sandbox
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """A page plus every console error and uncaught exception it logged."""

    def __init__(self, browser: Any, width: int = 1280, height: int = 800) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("#model-cards[data-loaded]", timeout=30_000)
        timing = self.page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
        record = OUT / "timings.json"
        seen = json.loads(record.read_text()) if record.exists() else {}
        seen[url] = {"dom_content_loaded_ms": timing["domContentLoadedEventEnd"],
                     "load_ms": timing["loadEventEnd"]}
        record.write_text(json.dumps(seen, indent=2))
        return self.page

    def close(self, allowed: str | None = None) -> None:
        self.context.close()
        errors = [e for e in self.errors if allowed is None or allowed not in e]
        assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    opened = Page(browser)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small real model per task (the conformance cases' data and settings)."""
    root = tmp_path_factory.mktemp("console-bundles")
    out = {}
    for name in TASK_NAMES:
        case = CASES[name]
        out[name] = root / name
        featureship.train(name, data=case.data(), output=out[name], **case.settings)
    return out


@pytest.fixture(scope="module")
def server(bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("console-serve") / "server.log"
    with served(list(bundles.values()), log) as (url, _):
        yield url


def _digit_png() -> bytes:
    from PIL import Image

    pixels = CASES["image-classification"].inputs[0]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _same(shown: Any, rest: Any, where: str = "answer") -> None:
    # bf16 encoders score a batched text within a few 1e-3 of the lone text: floats are close,
    # everything else equal
    if isinstance(rest, float) or isinstance(shown, float):
        assert math.isclose(shown, rest, abs_tol=1e-2), f"{where}: {shown} != {rest}"
    elif isinstance(rest, dict):
        assert set(shown) == set(rest), f"{where}: keys {set(shown)} != {set(rest)}"
        for key in rest:
            _same(shown[key], rest[key], f"{where}.{key}")
    elif isinstance(rest, list):
        assert len(shown) == len(rest), f"{where}: {len(shown)} items != {len(rest)}"
        for i, (a, b) in enumerate(zip(shown, rest, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(rest, str) and where.endswith("png_base64"):
        assert shown, where
    else:
        assert shown == rest, f"{where}: {shown!r} != {rest!r}"


def _first_name(answer: dict[str, Any]) -> str:
    """What the page shows first for an answer: the first entry's label, prediction or title."""
    entries = next(v for v in answer.values() if isinstance(v, list) and v)
    entry = entries[0]
    if isinstance(entry.get("answers"), list):
        entry = entry["answers"][0]
    for key in ("label", "prediction", "title", "answer", "item", "id"):
        if entry.get(key) is not None:
            return str(entry[key])
    raise AssertionError(f"nothing to name in {entry}")


def _try(page: Any, url: str, model: str, endpoint: str | None = None,
         key: str | None = None) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Send the page's default request for `model`: (the endpoint's spec, the answer the page
    got, the JSON body it sent, or None for an upload)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    detail = httpx.get(f"{url}/v1/models/{model}", headers=headers).json()
    spec = next(e for e in detail["endpoint_specs"]
                if (e["name"] == endpoint if endpoint else e["explained_by"]))
    page.select_option("#try-model", model)
    page.select_option("#try-endpoint", spec["name"])
    if spec["uploads"]:
        page.set_input_files("#try-fields input[type=file]", files=[
            {"name": "digit.png", "mimeType": "image/png", "buffer": _digit_png()}])
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith(f"/v1/models/{model}/{spec['name']}")) as answered:
        page.click("#try-send")
    shown = answered.value.json()
    assert answered.value.status == 200, shown
    sent = None if spec["uploads"] else json.loads(answered.value.request.post_data)
    if spec["explained_by"]:
        page.wait_for_selector("#try-explanation .entry, #try-explanation .bars", timeout=60_000)
    else:
        page.wait_for_selector("#try-result .entry, #try-result .bars", timeout=60_000)
    return spec, shown, sent


@pytest.mark.parametrize("task", TASK_NAMES)
def test_each_task_answers_in_the_page_what_rest_answers(page: Page, server: str, task: str) -> None:
    tab = page.open(server)
    spec, shown, sent = _try(tab, server, task)
    endpoint = f"{server}/v1/models/{task}/{spec['name']}"
    if spec["uploads"]:
        rest = httpx.post(endpoint, files=[("files", ("digit.png", _digit_png(), "image/png"))], timeout=60)
    else:
        rest = httpx.post(endpoint, json=sent, timeout=60)
    assert rest.status_code == 200, rest.text
    _same(shown, rest.json())
    assert _first_name(rest.json()) in tab.inner_text("#try-result")
    # the explanation renders in its shape: shaded words, a saliency image, signed bars, reasons
    explained = httpx.post(f"{server}/v1/models/{task}/{spec['explained_by']}", timeout=60,
                           **({"files": [("files", ("digit.png", _digit_png(), "image/png"))]}
                              if spec["uploads"] else {"json": sent})).text
    shapes = {'"attributions"': ".words span[data-weight]", '"saliency_png_base64"': "img.saliency",
              '"contributions"': ".bars li", '"because"': ".because"}
    expected = [css for key, css in shapes.items() if key in explained]
    assert expected, explained[:300]
    for css in expected:
        assert tab.locator(f"#try-explanation {css}").count() > 0, (css, tab.inner_text("#try-explanation"))
    curl = tab.inner_text("#try-curl")
    assert curl.startswith("curl -X POST") and f"/v1/models/{task}/{spec['name']}" in curl
    tab.screenshot(path=OUT / f"try-{task}.png", full_page=True)


def test_cards_report_and_live_charts(page: Page, server: str) -> None:
    tab = page.open(server)
    for _ in range(5):
        httpx.post(f"{server}/v1/models/text-classification/predict",
                   json={"inputs": ["my card has not arrived"]}, timeout=60)
    card = tab.locator('.card[data-model="text-classification"]')
    assert "text-classification" in card.inner_text() and "accuracy" in card.inner_text()
    tab.wait_for_function("""() => /[1-9]/.test(document.querySelector(
        '[data-traffic="text-classification"]').textContent.split('req/s')[0])""", timeout=15_000)
    assert "p99" in card.inner_text()
    tab.wait_for_selector('[data-drift="text-classification"] .badge', timeout=20_000)
    assert tab.locator("#live-charts svg path").count() > 0
    with tab.context.expect_page() as opened:
        card.get_by_role("button", name="Open report").click()
    report = opened.value
    report.wait_for_url(re.compile(r"^blob:"), timeout=30_000)  # fetched with the key, shown from a blob
    report.wait_for_load_state()
    assert "text-classification" in report.content()
    tab.screenshot(path=OUT / "models-and-live.png", full_page=True)


def test_keyboard_only_and_a_phone_wide_screen(browser: Any, server: str) -> None:
    wide = Page(browser)
    tab = wide.open(server)
    tab.select_option("#try-model", "text-classification")
    tab.locator("body").focus()
    for _ in range(120):  # Tab through the page to the Send button, then press Enter
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.id") == "try-send":
            break
    else:
        pytest.fail("the Send button cannot be reached with the Tab key")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("#try-result .entry", timeout=60_000)
    wide.close()

    phone = Page(browser, width=390, height=844)
    tab = phone.open(server)
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    tab.screenshot(path=OUT / "phone-390px.png", full_page=True)
    phone.close()


def test_axe_finds_no_serious_violation(page: Page, server: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    tab = page.open(server)
    _try(tab, server, "text-classification")  # results and explanations on the page too
    tab.wait_for_timeout(2500)  # a round of live charts
    violations = Axe().run(tab).response["violations"]
    serious = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
               for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, serious


def test_the_key_prompt_refuses_a_wrong_key_and_keeps_the_right_one_in_the_tab(
        browser: Any, bundles: dict[str, Path], tmp_path: Path) -> None:
    with served([bundles["text-classification"]], tmp_path / "keyed.log", "--api-key-env",
                "FS_CONSOLE_KEYS", env={"FS_CONSOLE_KEYS": KEY}) as (url, _):
        opened = Page(browser)
        tab = opened.page
        tab.goto(url)
        dialog = tab.locator("#key-dialog")
        dialog.wait_for(state="visible")
        assert "requires an API key" in tab.inner_text("#key-message")
        tab.fill("#key-input", "not-the-key")
        tab.click("#key-submit")
        tab.wait_for_function("document.querySelector('#key-message').textContent.includes('not valid')")
        assert dialog.is_visible()
        tab.fill("#key-input", KEY)
        tab.click("#key-submit")
        tab.wait_for_selector('.card[data-model="text-classification"]')
        assert tab.evaluate("sessionStorage.getItem('featureship.apiKey')") == KEY
        assert KEY not in tab.url
        _try(tab, url, "text-classification", key=KEY)
        assert KEY not in tab.inner_text("#try-curl") and "Bearer $FEATURESHIP_API_KEY" in tab.inner_text("#try-curl")
        tab.screenshot(path=OUT / "api-key.png", full_page=True)
        opened.close(allowed="401")  # the refused requests are logged by chromium


def _cancer_csv(path: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    load_breast_cancer(as_frame=True).frame.iloc[:200].to_csv(path, index=False)
    return path


def _cli_error(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "featureship", *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    return re.sub(r"\s+", " ", done.stderr.split("error:", 1)[1]).strip()


@contextmanager
def _console_with_upload(browser: Any, tmp_path: Path, chooser: str, data: Path,
                         shown: str) -> Iterator[tuple[str, Page]]:
    """A `featureship console` in tmp_path/work, its page open, `data` uploaded through the
    file input `chooser`; waits until the page describes the upload (text starting `shown`)."""
    with running(["console", "--workdir", str(tmp_path / "work")], 0, tmp_path / "console.log") as (url, _):
        opened = Page(browser)
        tab = opened.open(url)
        tab.wait_for_selector("#train:not([hidden])")
        tab.set_input_files(chooser, str(data))
        tab.wait_for_function(f"document.querySelector('#train-data').textContent.startsWith('{shown}')")
        yield url, opened
        opened.close()


def test_a_run_started_in_the_page_fails_like_the_cli_or_finishes_and_can_be_tried(
        browser: Any, tmp_path: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe

    data = _cancer_csv(tmp_path / "cancer.csv")
    with _console_with_upload(browser, tmp_path, "#train-file", data, "Table") as (url, opened):
        tab = opened.page

        # a user mistake: numbers as the text column; the page says what the CLI says
        tab.select_option("#train-task", "text-classification")
        tab.select_option("[data-setting=text_column]", "mean radius")
        tab.select_option("[data-setting=label_column]", "target")
        tab.fill("#train-name", "wrong")
        tab.click("#train-start")
        failed = tab.locator('.run[aria-label="training run wrong"] .error')
        failed.wait_for(timeout=120_000)
        expected = _cli_error("train", "text-classification", "--data", str(data), "--text-column",
                              "mean radius", "--label-column", "target", "--output", str(tmp_path / "x"))
        assert re.sub(r"\s+", " ", failed.inner_text()).strip() == expected

        tab.select_option("#train-task", "tabular")
        tab.select_option("[data-setting=label_column]", "target")
        tab.select_option("[data-setting=model]", "linear")
        tab.fill("#train-name", "cancer")
        tab.click("#train-start")
        tab.wait_for_selector('[data-served="cancer"]', timeout=180_000)
        assert "chose linear" in tab.inner_text('.run[aria-label="training run cancer"]')
        tab.wait_for_selector('.card[data-model="cancer"]')
        serious = [v["id"] for v in Axe().run(tab).response["violations"]
                   if v["impact"] in ("serious", "critical")]
        assert not serious, serious
        tab.screenshot(path=OUT / "train.png", full_page=True)

        spec, shown, sent = _try(tab, url, "cancer")
        rest = httpx.post(f"{url}/v1/models/cancer/{spec['name']}", json=sent, timeout=60)
        _same(shown, rest.json())
        tab.reload()  # the runs are the server's: a reloaded page shows both, as they ended
        tab.wait_for_selector('[data-served="cancer"]')
        assert tab.locator('.run[aria-label="training run wrong"] .error').count() == 1
        assert (tmp_path / "work" / "models" / "cancer" / "manifest.json").is_file()


def test_a_folder_of_images_uploaded_from_the_page_trains_a_tryable_model(
        browser: Any, tmp_path: Path) -> None:
    from tests.unit.image.digits import write_digits_folder

    folder = write_digits_folder(tmp_path / "digits", per_class=10, classes=3)
    with _console_with_upload(browser, tmp_path, "#train-folder", folder, "Folder") as (url, opened):
        tab = opened.page
        assert "30 image(s) in 3 class folder(s)" in tab.inner_text("#train-data")
        tab.select_option("#train-task", "image-classification")
        tab.select_option("[data-setting=mode]", "scratch")
        tab.click("#train-form details summary")  # "More options", closed at first
        tab.fill("[data-setting=epochs]", "2")
        tab.fill("[data-setting=image_size]", "16")
        tab.fill("#train-name", "digits")
        tab.click("#train-start")
        tab.wait_for_selector('[data-served="digits"], .run .error', timeout=180_000)
        assert tab.locator('[data-served="digits"]').count() == 1, tab.inner_text("#train-runs")
        tab.wait_for_selector('.card[data-model="digits"]')
        spec, shown, _ = _try(tab, url, "digits")
        rest = httpx.post(f"{url}/v1/models/digits/{spec['name']}", timeout=60,
                          files=[("files", ("digit.png", _digit_png(), "image/png"))])
        _same(shown, rest.json())
        tab.screenshot(path=OUT / "train-folder.png", full_page=True)


def test_uploads_are_size_limited(tmp_path: Path) -> None:
    with running(["console", "--workdir", str(tmp_path / "work"), "--max-upload-mb", "1"], 0,
                 tmp_path / "console.log") as (url, _):
        big = base64.b64encode(os.urandom(900_000))  # 1.2 MB as text
        refused = httpx.post(f"{url}/v1/console/uploads",
                             files=[("files", ("big.csv", b"a\n" + big, "text/csv"))], timeout=60)
        assert refused.status_code == 413 and "--max-upload-mb" in refused.json()["detail"]
        assert not any((tmp_path / "work" / "uploads").iterdir())
