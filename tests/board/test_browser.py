"""The board's page in a real headless Chromium, driven by Selenium with Debian's chromedriver, over
a server started in this process on port 0 and real runs trained on the digits.

Skipped where selenium, /usr/bin/chromium or /usr/bin/chromedriver is missing (CI installs them).
The page keeps its uPlot charts on ``window.board.charts``; the tests read them there."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from datetime import datetime, timezone

import numpy as np
import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
webdriver = pytest.importorskip("selenium.webdriver")
if not (os.path.isfile(CHROMIUM) and os.path.isfile(CHROMEDRIVER) and shutil.which("chromium")):
    pytest.skip("no Chromium and chromedriver in /usr/bin (apt install chromium chromium-driver)",
                allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.board import make_server  # noqa: E402
from chainrule.extras import installed  # noqa: E402
from chainrule.plots import plot_run  # noqa: E402

TANH, RELU = "digits-tanh", "digits-relu"
ODD = 'odd <img src=x onerror="window.pwned=1"> & name'  # a folder name the page must show as text
WAIT = 6.0  # seconds: enough for two polls of /api/runs (every 2 s)


def train(out, model, epochs, **config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DiagnosticsWarning about a 3-epoch toy run is beside the point
        return cr.fit("digits", model=model, epochs=epochs, out=out, quiet=True, batch_size=64, **config)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("board") / "runs"
    tanh = train(root / TANH, "32tanh", 3, diagnostics=True)
    train(root / RELU, "32relu", 2)
    if installed("matplotlib"):
        plot_run(tanh.out_dir, tanh.history, tanh.model, tanh.test_labels, tanh.test_predictions)
    shutil.copytree(root / RELU, root / ODD)
    return root


@pytest.fixture(scope="module")
def server(runs):
    with make_server(runs, port=0).start() as board:
        yield board


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield browser
    browser.quit()


@pytest.fixture(autouse=True)
def no_console_errors(driver):
    """Every test ends with the browser's log free of errors (a failed request, a script error)."""
    driver.get_log("browser")  # what earlier tests left
    yield
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def wait_for(driver, script, *args, timeout=WAIT):
    """Evaluate ``script`` (a JavaScript function body) until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value or time.monotonic() > deadline:
            assert value, f"not true within {timeout} s: {script}"
            return value
        time.sleep(0.05)


def open_page(driver, server):
    driver.get(server.url)
    wait_for(driver, "return window.board && window.board.loaded")


def row(driver, run_id):
    return driver.execute_script(
        "return [...document.querySelectorAll('#runs tbody tr')].find(tr => tr.dataset.id === arguments[0])", run_id)


def tick(driver, run_id):
    row(driver, run_id).find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()


def test_the_page_lists_the_runs_and_shows_names_as_text(driver, server):
    open_page(driver, server)
    ids = wait_for(driver, "const ids = [...document.querySelectorAll('#runs tbody tr')].map(tr => tr.dataset.id);"
                           "return ids.length === 3 && ids")
    assert sorted(ids) == sorted([TANH, RELU, ODD])
    assert "finished" in row(driver, TANH).text and "32tanh" in row(driver, TANH).text
    assert ODD in row(driver, ODD).text  # the markup in the name is text, not an element
    assert not driver.execute_script("return document.querySelector('#runs img') || window.pwned")
    assert driver.find_element(By.ID, "blank").get_attribute("hidden") is not None
    row(driver, ODD).click()  # its details too: the name as the heading's text, its command quoted
    wait_for(driver, "return board.detailInfo && board.detailInfo.id === arguments[0]", ODD)
    assert driver.find_element(By.ID, "d-id").text == ODD
    assert not driver.execute_script("return document.querySelector('#details img') || window.pwned")


def shown_ids(driver):
    return driver.execute_script("return [...document.querySelectorAll('#runs tbody tr')].map(tr => tr.dataset.id)")


def test_the_table_is_filtered_and_sorted(driver, server):
    open_page(driver, server)
    wait_for(driver, "return document.querySelectorAll('#runs tbody tr').length === 3")
    driver.find_element(By.ID, "filter").send_keys("TANH")  # any case; matches the name and the model
    assert wait_for(driver, "return document.getElementById('count').textContent === '1 of 3 runs'")
    assert shown_ids(driver) == [TANH]
    driver.find_element(By.ID, "filter").send_keys("-nothing")
    assert wait_for(driver, "return document.querySelector('#runs tbody td.muted')").text == "no run matches the filter"
    driver.find_element(By.ID, "filter").clear()
    driver.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")
    name = driver.find_element(By.CSS_SELECTOR, "#runs th[data-key=id]")
    name.click()  # by name, A to Z; again, Z to A
    assert shown_ids(driver) == [RELU, TANH, ODD]
    name.click()
    assert shown_ids(driver) == [ODD, TANH, RELU]


def test_an_empty_folder_says_how_to_start(driver, tmp_path):
    with make_server(tmp_path, port=0).start() as empty:
        open_page(driver, empty)
        text = wait_for(driver, "const b = document.getElementById('blank'); return !b.hidden && b.textContent")
    assert text.startswith("no runs under ") and "start one with chainrule train" in text


def test_two_ticked_runs_draw_two_curves_in_each_chart(driver, server):
    open_page(driver, server)
    tick(driver, TANH)
    tick(driver, RELU)
    for name in ("loss", "acc"):  # x, then (train, val) per run
        labels = wait_for(driver, "const c = board.charts[arguments[0]];"
                                  "return c && c.series.length === 5 && c.series.map(s => s.label)", name)
        assert [label.split(" ")[:2] for label in labels[1:]] == [[TANH, "train"], [TANH, "val"],
                                                                  [RELU, "train"], [RELU, "val"]]
        data = driver.execute_script("return board.charts[arguments[0]].data", name)
        assert data[0] == [1, 2, 3]
        assert all(v is not None for v in data[1]) and data[3][:2] != [None, None] and data[3][2] is None
    # a poll of the list (every 2 s) keeps the ticks, the filter and the sort
    driver.find_element(By.ID, "filter").send_keys("digits-")
    driver.find_element(By.CSS_SELECTOR, "#runs th[data-key=model]").click()
    polls = driver.execute_script("return board.listPolls")
    wait_for(driver, "return board.listPolls > arguments[0]", polls)
    assert [tr.get_attribute("data-id") for tr in driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")] == [RELU,
                                                                                                           TANH]
    assert all(box.is_selected() for box in driver.find_elements(By.CSS_SELECTOR, "#runs tbody input"))
    assert driver.execute_script("return board.charts.loss.series.length") == 5
    driver.find_element(By.ID, "loss-log").click()  # the loss on a log scale: the same curves, redrawn
    assert driver.execute_script("const c = board.charts.loss; return c.scales.y.distr === 3 && c.series.length") == 5


def test_a_new_epoch_of_a_running_run_appears_within_2_seconds(driver, server, runs):
    open_page(driver, server)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    (runs / RELU / "status.json").write_text(json.dumps(
        {"status": "running", "pid": os.getpid(), "started": now, "updated": now, "message": None}))
    wait_for(driver, "return board.byId.get(arguments[0])?.status === 'running'", RELU)
    tick(driver, RELU)
    wait_for(driver, "const c = board.charts.loss; return c && c.data[0].length === 2")
    lines = (runs / RELU / "metrics.jsonl").read_text().splitlines()
    third = dict(json.loads(lines[-1]), epoch=3, train_loss=0.125, val_loss=0.25)
    with open(runs / RELU / "metrics.jsonl", "a") as f:
        f.write(json.dumps(third) + "\n")
    points = wait_for(driver, "const d = board.charts.loss.data; return d[0].length === 3 && d", timeout=2.0)
    assert points[1][2] == 0.125 and points[2][2] == 0.25
    assert "running" in row(driver, RELU).text


def test_a_run_started_while_serving_appears(driver, server, runs):
    open_page(driver, server)
    train(runs / "later" / "sigmoid", "16sigmoid", 1)
    wait_for(driver, "return board.runs.some(r => r.id === 'later/sigmoid') && "
                     "[...document.querySelectorAll('#runs tbody tr')].some(tr => tr.dataset.id === 'later/sigmoid')")


def test_details_show_the_command_the_pictures_and_the_diagnostics(driver, server, runs):
    open_page(driver, server)
    row(driver, TANH).click()
    command = wait_for(driver, "return board.detailInfo && document.getElementById('d-command').textContent")
    assert command.startswith("chainrule train --dataset digits --model 32tanh --epochs 3 --batch-size 64")
    assert command.endswith("--diagnostics")
    driver.find_element(By.ID, "d-copy").click()  # to the clipboard, or selected where that is refused
    wait_for(driver, "return document.getElementById('d-copy').textContent === 'copied'")
    summary = driver.find_element(By.ID, "d-summary").text
    assert "test accuracy" in summary and "32tanh" in summary
    for name in ("delta", "update", "frac"):  # one line per Linear layer (two) or activation layer (one), + a limit
        series = wait_for(driver, "const c = board.charts[arguments[0]]; return c && c.series.length", name)
        assert series == {"delta": 3, "update": 4, "frac": 3}[name]
    pictures = sorted(p for p in ("curves.png", "confusion.png", "weights.png", "diagnostics.png")
                      if (runs / TANH / p).exists())
    if installed("matplotlib"):
        assert pictures == ["confusion.png", "curves.png", "diagnostics.png", "weights.png"]
    loaded = wait_for(driver, "const imgs = [...document.querySelectorAll('#d-pictures img')];"
                              "return imgs.length === arguments[0] && imgs.every(i => i.complete && i.naturalWidth > 0)"
                              " && imgs.map(i => i.naturalWidth)", len(pictures)) if pictures else []
    assert len(loaded) == len(pictures)


def test_a_screenshot_is_written_and_is_not_blank(driver, server, tmp_path):
    open_page(driver, server)
    tick(driver, TANH)
    tick(driver, RELU)
    row(driver, TANH).click()
    wait_for(driver, "return board.charts.delta && board.charts.loss && board.charts.loss.series.length === 5")
    path = tmp_path / "board.png"
    assert driver.save_screenshot(str(path))
    from PIL import Image
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.shape[1] >= 1200
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50 and (pixels < 250).any()
