"""The simulation report as a collections manager reads it: Chinese Markdown, captions that match
the data, and report.html opened from disk in headless Chromium with every chart drawn.

One 400-account simulation (about 1 s) serves the module; the browser test takes about 3 s.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bot.plans import load_policy
from bot.plans import report_html as report_html_module
from bot.plans.money import fmt_yuan
from bot.plans.portfolio import generate_portfolio, read_portfolio
from bot.plans.report_text import PRODUCT_NAMES, TITLE
from bot.plans.simulate import run_chunked, simulate
from bot.settings import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "plans"
AS_OF = "2026-11-22"
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"\b[A-Za-z_]{4,}\b")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    generate_portfolio(400, 11, out / "portfolio.csv")
    simulate(out / "portfolio.csv", load_policy(), out, as_of=AS_OF, check=20, progress=False)
    return out


@pytest.fixture(scope="module")
def summary(report: Path) -> dict:
    return json.loads((report / "summary.json").read_text(encoding="utf-8"))


def _prose(text: str) -> str:
    """The text without file paths and file names (the only Latin a Chinese report needs)."""
    text = re.sub(r"`[^`]*`|\([^)]*\.(?:png|html)\)|\[[^\]]*\.html\]|<code>.*?</code>", "", text)
    return re.sub(r"\b\w+\.(?:png|html|json|md|csv)\b|ECharts|Apache|propose", "", text)


def test_markdown_is_chinese_tables_not_dicts(report: Path, summary: dict) -> None:
    md = (report / "summary.md").read_text(encoding="utf-8")
    assert md.startswith(f"# {TITLE}\n")
    assert not re.search(r"[{}']", md), "a raw dict or repr leaked into summary.md"
    assert not LATIN_WORD.findall(_prose(md)), LATIN_WORD.findall(_prose(md))
    assert len(CJK.findall(md)) > 300
    for name in PRODUCT_NAMES.values():
        assert f"| {name} |" in md
    # money through the project's one formatter, in the headline table
    assert f"| 欠款总额 | {fmt_yuan(round(summary['total_owed'] * 100))} 元 |" in md
    monthly = fmt_yuan(round(summary["expected_monthly_inflow"] * 100))
    assert f"| 预计月均回款（未来12个月） | {monthly} 元 |" in md
    # each month of the averaging window has its own row, month 0 included
    for m in summary["inflow_by_month"][:13]:
        assert f"| 第{m['month']}个月 |" in md


def test_captions_state_the_data_range(report: Path, summary: dict) -> None:
    """The affordability range is the data's (recomputed here from the engine), not a cap."""
    pf = read_portfolio(report / "portfolio.csv")
    monthly = run_chunked(pf, load_policy()).affordable_monthly
    declared = monthly[monthly >= 0]
    low, high = fmt_yuan(int(declared.min())), fmt_yuan(int(declared.max()))
    median = fmt_yuan(round(float(np.median(declared))))
    a = summary["affordability"]
    assert (a["accounts"], a["zero"]) == (declared.size, int((declared == 0).sum()))
    assert a["zero"] + sum(b["accounts"] for b in a["bins"]) == a["accounts"]
    *even, tail = a["bins"]
    width = even[0]["to"] - even[0]["from"]
    assert all(b["to"] - b["from"] == width for b in even)
    assert [b["from"] for b in even[1:]] == [b["to"] for b in even[:-1]]
    # the tail bin is open up to the data's maximum, and holds at most ~1 % of the accounts
    assert tail["open"] and tail["from"] == even[-1]["to"] and tail["to"] == a["max"]
    assert 0 < tail["accounts"] <= 0.02 * (a["accounts"] - a["zero"])
    assert int(declared.max()) / 100 == a["max"]

    page = (report / "report.html").read_text(encoding="utf-8")
    md = (report / "summary.md").read_text(encoding="utf-8")
    expected = f"每月可承担 {low} 元至 {high} 元，中位数 {median} 元"
    assert expected in md and expected in page
    last = f"最后一档为 {tail['from']:,.0f} 元以上的 {tail['accounts']:,} 户（最高 {high} 元）"
    assert last in md and last in page
    assert "20,000" not in md.split("## 申报困难账户")[1]

    month0 = summary["inflow_by_month"][0]["amount"]
    later = [m["amount"] for m in summary["inflow_by_month"][1:]]
    assert month0 > 2 * max(later)  # why month 0 is shown apart
    stated = (
        "第0个月（数日内到期：一次性还清的款项和最低还款额方案的首期）"
        f"应收 {fmt_yuan(round(month0 * 100))} 元"
    )
    assert stated in md and stated in page
    assert f"是以后单月最高值的 {month0 / max(later):.0f} 倍" in md


def test_report_html_is_self_contained(report: Path) -> None:
    page = (report / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in page and f"<title>{TITLE}" in page
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1", page, flags=re.S)
    assert markup.count("<script") == 3  # the data, ECharts and the chart code, all inline
    assert not re.search(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=", markup)
    assert 'id="no-charts"' not in page
    version = json.loads(
        (report_html_module.ECHARTS_DIR / "package.json").read_text(encoding="utf-8")
    )["version"]
    lock = json.loads(
        (report_html_module.REPORT_DIR / "package-lock.json").read_text(encoding="utf-8")
    )
    assert lock["packages"][""]["dependencies"]["echarts"] == version  # pinned exactly
    assert f"Apache ECharts {version}" in page


def test_without_echarts_the_figures_are_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_html_module, "ECHARTS_JS", tmp_path / "missing.js")
    generate_portfolio(30, 3, tmp_path / "pf.csv")
    simulate(tmp_path / "pf.csv", load_policy(), tmp_path, as_of=AS_OF, check=5, progress=False)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="no-charts"' in page and "make install" in page
    assert "echarts.init" not in page and 'id="headline"' in page
    assert "missing.js is missing" in capsys.readouterr().err
    for name in ("summary.md", "summary.json", "products.png", "inflow.png"):
        assert (tmp_path / name).stat().st_size > 0, name


# The browser test: Debian Chromium opens the file from disk (no server) and the charts render.

RENDERED = """
const result = {};
for (const id of ["chart-products", "chart-inflow", "chart-affordability"]) {
  const chart = window.reportCharts && window.reportCharts[id];
  const svg = document.querySelector("#" + id + " svg");
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  result[id] = {
    instance: !!chart && echarts.getInstanceByDom(document.getElementById(id)) === chart,
    width: box.width, height: box.height,
    bars: svg ? svg.querySelectorAll("path").length : 0,
    texts: svg ? Array.from(svg.querySelectorAll("text")).map(t => t.textContent) : [],
  };
}
result.resources = performance.getEntriesByType("resource").length;
return result;
"""


@pytest.mark.browser
def test_report_html_renders_every_chart_in_chromium(report: Path, summary: dict) -> None:
    from tests.chromium import CHROMEDRIVER, CHROMIUM, chromium

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("no Debian chromium")
    data = json.loads(
        re.search(
            r'<script type="application/json" id="report-data">(.*?)</script>',
            (report / "report.html").read_text(encoding="utf-8"),
        ).group(1)
    )
    with chromium("--window-size=1000,3000") as browser:
        browser.get((report / "report.html").as_uri())
        drawn = browser.execute_script(RENDERED)
        tip = browser.execute_script(
            "const c = window.reportCharts['chart-inflow'];"
            "c.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0});"
            "return document.querySelector('#chart-inflow').innerText;"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "simulation-report.png"))
    assert drawn["resources"] == 0  # nothing loaded besides the file itself
    for chart_id in ("chart-products", "chart-inflow", "chart-affordability"):
        chart = drawn[chart_id]
        assert chart["instance"] and chart["width"] > 600 and chart["height"] > 300, chart_id
        assert chart["bars"] > 5, chart_id

    # every month from month 1 to the last payment is labelled on the inflow axis
    months = [m for m in summary["inflow_by_month"][1:] if m["month"]]
    last = max(m["month"] for m in months if m["amount"] > 0)
    expected = [m["due"][:7] for m in months if m["month"] <= last]
    assert data["inflow"]["labels"] == expected
    axis = [t for t in drawn["chart-inflow"]["texts"] if re.fullmatch(r"\d{4}-\d{2}", t)]
    assert axis == expected, (len(axis), len(expected))
    assert "到期月份" in drawn["chart-inflow"]["texts"]
    first = summary["inflow_by_month"][1]
    assert (
        f"第1个月（{first['due']} 到期）" in tip and fmt_yuan(round(first["amount"] * 100)) in tip
    )

    products = drawn["chart-products"]["texts"]
    assert all(name in products for name in PRODUCT_NAMES.values())
    assert {"自动给出", "转人工专员"} <= set(products)
    afford = drawn["chart-affordability"]["texts"]
    assert "0（无余力）" in afford
    bins = summary["affordability"]["bins"]
    assert len([t for t in afford if "–" in t]) == len(bins) - 1
    assert f"{bins[-1]['from']:,.0f}以上" in afford
