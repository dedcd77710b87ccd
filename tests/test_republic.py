"""Issue 19, acceptance: the West Kazakhstan demo's final, exported, read back by the republic's run.

The oblast's whole pipeline runs through the command line (samples → every date's report), its reports of
8 and 28 September are exported into a republic inbox beside the 15 other regions' sample forms (one region
drops its final form, one sends it late), and the republic's reports of both dates are written. Then:
every exported figure equals the oblast's own figures.csv; the republic totals are the sum over the regions;
the rankings read in the right order; the late and the missing region are named; last year is compared with
the bundled 2016 figures; no West Kazakhstan word reaches the republic's outputs but the region's name; the
republic's manifest shows the oblast manifest's sha256.

Expectations come from the inputs and the raw plan files (yaml), never from the code under test: the regions'
figures from the sample generator's record and the oblast's figures.csv, numbers formatted here by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from campaign_outputs import body_text, foreign_hits, normal, pipeline_cli
from pipeline.plan import load_plan

REPO = Path(__file__).resolve().parent.parent
OBLAST_PLAN = REPO / "pipeline" / "data" / "plans" / "mektepke-zhol-2017.yaml"
REPUBLIC_PLAN = REPO / "pipeline" / "data" / "plans" / "mektepke-zhol-2017-republic.yaml"
RAW = yaml.safe_load(REPUBLIC_PLAN.read_text(encoding="utf-8"))
OBLAST_RAW = yaml.safe_load(OBLAST_PLAN.read_text(encoding="utf-8"))
SEED = 2014
CUT, FINAL = dt.date(2017, 8, 11), dt.date(2017, 9, 30)
OBLAST_CUT, OBLAST_FINAL = dt.date(2017, 8, 8), dt.date(2017, 9, 28)
#: Days the late region's final form comes after the deadline: more than any sample is late, so its name
#: stands alone in the sentence («X облысы 5 күн кешігіп»).
LATE_DAYS = 5


cli = pipeline_cli


@dataclass
class Run:
    folder: Path
    oblast_outbox: Path
    inbox: Path
    outbox: Path
    region: dict[str, dict[str, float]]  # region code → figure → value the republic final must count
    late: str
    missing: str
    exports: list[Path]
    export_out: subprocess.CompletedProcess[str]


def _figures(path: Path, unit: str) -> dict[str, float]:
    with path.open(encoding="utf-8-sig") as fh:
        return {r["figure"]: float(r["value"]) for r in csv.DictReader(fh) if r["unit"] == unit and r["value"]}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    from pipeline.tools.samples import fill_form, generate_samples
    from pipeline.forms import layout

    folder = tmp_path_factory.mktemp("republic")
    oblast_in, oblast_out = folder / "oblast-inbox", folder / "oblast-outbox"
    assert cli("samples", "--out", str(oblast_in), "--seed", str(SEED), "--messy", "2017-08-17").returncode == 0
    for date in load_plan(OBLAST_PLAN).dates:
        out = cli("report", "--date", date.isoformat(), "--inbox", str(oblast_in), "--outbox", str(oblast_out))
        assert out.returncode in (0, 1), out.stderr[-2000:]
    inbox, outbox = folder / "republic-inbox", folder / "republic-outbox"
    export_out = cli("export", "--to", str(REPUBLIC_PLAN), "--outbox", str(oblast_out), "--out", str(inbox / "export"))
    assert export_out.returncode == 0, export_out.stderr
    exports = sorted((inbox / "export").iterdir())

    plan = load_plan(REPUBLIC_PLAN)
    samples = generate_samples(plan, inbox, seed=SEED, skip=["west_kazakhstan"])
    late_on_final = {u for u, d in samples.late if d == FINAL}
    steady = [u["code"] for u in RAW["units"] if u["code"] != "west_kazakhstan" and u["code"] not in late_on_final
              and samples.get(u["code"], CUT) is not None and samples.get(u["code"], FINAL) is not None]
    missing, late = steady[0], steady[1]
    samples.get(missing, FINAL).path.unlink()

    def filled_on(unit: str, when: dt.date) -> None:
        form = samples.get(unit, FINAL)
        fill_form(form.path, form.path, {layout.HEADER_CODES["filled_date"]: when})
        stamp = dt.datetime.combine(when, dt.time(12)).timestamp()
        os.utime(form.path, (stamp, stamp))

    # One region late on the final, and only one: its name stands alone in every sentence naming it.
    for unit in late_on_final:
        filled_on(unit, FINAL)
    filled_on(late, FINAL + dt.timedelta(days=LATE_DAYS))

    # What the republic's final must count for each region: its final form, else its cut form (carried).
    numeric = [f["code"] for s in RAW["sections"] for i in s["items"] for f in i["figures"]]
    region: dict[str, dict[str, float]] = {}
    for unit in (u["code"] for u in RAW["units"]):
        if unit == "west_kazakhstan":
            continue
        form = samples.get(unit, FINAL) if unit != missing else samples.get(unit, CUT)
        region[unit] = {c: float(form.values[c]) for c in numeric if form.values.get(c) is not None}
    mapping = RAW["sources"][0]["figures"]
    oblast_final = _figures(oblast_out / OBLAST_FINAL.isoformat() / "figures.csv", "oblast")
    region["west_kazakhstan"] = {ours: oblast_final[theirs] for ours, theirs in mapping.items() if theirs in oblast_final}

    for date in (CUT, FINAL):
        out = cli("report", "--plan", str(REPUBLIC_PLAN), "--date", date.isoformat(), "--inbox", str(inbox),
                  "--outbox", str(outbox))
        assert out.returncode in (0, 1), out.stderr[-3000:]
        assert "Traceback" not in out.stderr
    return Run(folder, oblast_out, inbox, outbox, region, late, missing, exports, export_out)


def _name(code: str, language: str = "kk") -> str:
    unit = next(u for u in RAW["units"] if u["code"] == code)
    return unit["name_ru" if language == "ru" else "name"]


def _grouped(value: float, decimals: int) -> str:
    whole, _, fraction = f"{value:.{decimals}f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return " ".join(groups) + (("," + fraction) if fraction else "")


def _texts(run: Run, date: dt.date = FINAL) -> dict[str, str]:
    folder = run.outbox / date.isoformat()
    return {"kk": body_text(folder / f"akparat-{date.isoformat()}.docx"),
            "ru": body_text(folder / f"akparat-{date.isoformat()}-ru.docx")}


# --- the export --------------------------------------------------------------------------------------------
def test_every_exported_figure_is_the_oblasts_own(run: Run) -> None:
    mapping = RAW["sources"][0]["figures"]
    not_collected = RAW["sources"][0]["not_collected"]
    assert [p.name for p in run.exports] == [f"Нысан - Батыс Қазақстан облысы - {d.isoformat()}.xlsx" for d in (CUT, FINAL)]
    for path, oblast_date, date in zip(run.exports, (OBLAST_CUT, OBLAST_FINAL), (CUT, FINAL)):
        oblast = _figures(run.oblast_outbox / oblast_date.isoformat() / "figures.csv", "oblast")
        ws = load_workbook(path)["Нысан"]
        cells = {row[0].value: row[3].value for row in ws.iter_rows() if isinstance(row[0].value, str)}
        assert cells["form.unit"] == "Батыс Қазақстан облысы"
        assert cells["form.report_date"].date() == date and cells["form.filled_date"].date() == oblast_date
        for ours, theirs in mapping.items():
            assert float(cells[ours]) == oblast[theirs], (path.name, ours)
        assert all(cells[code] in (None, "") for code in not_collected)
        # The form's unit row is the region's, not a district's.
        labels = {row[0].value: row[1].value for row in ws.iter_rows() if isinstance(row[0].value, str)}
        assert labels["form.unit"] == RAW["region"]["unit_label"]
    # The console names each figure left empty (Kazakh) and the provenance.
    for code in not_collected:
        assert f"({code})" in run.export_out.stdout
    assert "бос қалды" in run.export_out.stdout


def test_the_export_passes_the_republic_check(run: Run) -> None:
    out = cli("--plan", str(REPUBLIC_PLAN), "check", *map(str, run.exports))
    assert out.returncode == 0, out.stdout + out.stderr
    assert all(line.startswith("ok\t") for line in out.stdout.splitlines() if not line.startswith(" "))


def test_the_provenance_travels_into_the_republics_manifest(run: Run) -> None:
    for path, oblast_date, date in zip(run.exports, (OBLAST_CUT, OBLAST_FINAL), (CUT, FINAL)):
        sha = hashlib.sha256((run.oblast_outbox / oblast_date.isoformat() / "manifest.json").read_bytes()).hexdigest()
        props = load_workbook(path).custom_doc_props
        assert {p.name: p.value for p in props}["mz-source-manifest-sha256"] == sha
        manifest = json.loads((run.outbox / date.isoformat() / "manifest.json").read_text(encoding="utf-8"))
        entry = next(i for i in manifest["inputs"] if i["file"].endswith(path.name))
        assert entry["source"] == f"sha256:{sha}" and entry["status"] == "used"
        assert all("source" not in i for i in manifest["inputs"] if not i["file"].startswith("export/"))


# --- the republic's run ------------------------------------------------------------------------------------
def test_republic_totals_are_the_sum_over_regions(run: Run) -> None:
    figures = run.outbox / FINAL.isoformat() / "figures.csv"
    totals = _figures(figures, "oblast")
    for code in {c for values in run.region.values() for c in values}:
        expected = sum(values[code] for values in run.region.values() if code in values)
        assert totals[code] == pytest.approx(expected), code
    for unit, values in run.region.items():
        assert _figures(figures, unit) == pytest.approx(values), unit
    # The republic's text states the same totals.
    kk = _texts(run)["kk"]
    assert _grouped(totals["help_children"], 0) + " балаға" in kk
    assert _grouped(totals["help_amount"] / 1000, 1) + " мың теңге" in kk


def _ranked(run: Run, ranking: dict) -> list[tuple[str, float]]:
    values: dict[str, float] = {}
    for unit in (u["code"] for u in RAW["units"]):
        v = run.region[unit]
        if ranking["by"] == "figure" and ranking["figure"] in v:
            values[unit] = v[ranking["figure"]]
        elif ranking["by"] == "per_head" and v.get("help_children", 0) > 0 and v.get("help_amount", 0) > 0:
            values[unit] = v["help_amount"] / v["help_children"]
        elif ranking["by"] == "share" and v.get("help_amount", 0) > 0 and "sponsor_amount" in v:
            values[unit] = v["sponsor_amount"] / v["help_amount"] * 100
    order = [u["code"] for u in RAW["units"] if u["code"] in values]
    return sorted(((u, values[u]) for u in order), key=lambda kv: -kv[1])


def _shown(ranking: dict, value: float) -> str:
    if ranking["by"] == "share":
        return _grouped(value, 1) + "%"
    if ranking["by"] == "per_head" or ranking["figure"] in ("help_amount", "sponsor_amount"):
        return _grouped(value / 1000, 1) + " мың теңге"
    return _grouped(value, 0)


def test_rankings_name_the_regions_in_order(run: Run) -> None:
    kk = _texts(run)["kk"]
    labels = {f["code"]: f["label"] for sec in RAW["sections"] for i in sec["items"] for f in i["figures"]}
    labels["per_head"] = RAW["report"]["per_head"]["label"]
    assert len(RAW["report"]["rankings"]) == 4
    for ranking in RAW["report"]["rankings"]:
        order = _ranked(run, ranking)
        label = ranking.get("label") or labels[ranking.get("figure") if ranking["by"] == "figure" else "per_head"]
        top = order[: ranking["top"]]
        bottom = list(reversed(order[len(order) - ranking["bottom"]:]))
        said = (f"{label} бойынша алдыңғы қатарда – " + ", ".join(f"{_name(u)} ({_shown(ranking, v)})" for u, v in top)
                + "; ең төменгі көрсеткіштер – " + ", ".join(f"{_name(u)} ({_shown(ranking, v)})" for u, v in bottom))
        assert normal(said) in kk, said


def test_the_late_and_the_missing_region_are_named(run: Run) -> None:
    """Named where the report says who reported (the section of the item about reporting) and, once the
    template shows it, in the data-quality paragraph (pipeline.render.prose.quality, checked here on the
    context itself)."""
    texts = _texts(run)
    late, missing = _name(run.late), _name(run.missing)
    late_ru, missing_ru = _name(run.late, "ru"), _name(run.missing, "ru")
    assert normal(f"мерзімінде және {late} кешігіп ұсынды. {missing} мәлімет ұсынбады.") in texts["kk"]
    assert normal(f"с опозданием – {late_ru}") in texts["ru"] and normal(f"({missing_ru})") in texts["ru"]
    quality = _quality(run)
    assert normal(f"{late} {LATE_DAYS} күн кешігіп ұсынды") in quality["kk"]
    assert normal(f"{missing} есепті күнге мәлімет ұсынбағандықтан") in quality["kk"]
    assert normal(f"{late_ru} (на {LATE_DAYS} дней)") in quality["ru"]
    assert normal(f"информация на отчётную дату не представлена: {missing_ru}") in quality["ru"]
    with (run.outbox / FINAL.isoformat() / "figures.csv").open(encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["unit"] == run.missing and r["figure"] == "help_children"]
    assert rows[0]["coverage"] == "carried" and rows[0]["carried_from"] == CUT.isoformat()


def _quality(run: Run) -> dict[str, str]:
    """The data-quality paragraph of the republic's final in both languages, from the report's own run."""
    from pipeline.render.context import build_context
    from pipeline.report import run_report

    result = run_report(FINAL.isoformat(), inbox=run.inbox, outbox=run.folder / "quality-outbox",
                        plan_path=REPUBLIC_PLAN)
    assert result.data is not None
    return {lang: normal(" ".join(build_context(result.data, language=lang)["quality"])) for lang in ("kk", "ru")}


def test_last_year_is_the_bundled_2016_final(run: Run) -> None:
    kk = _texts(run)["kk"]
    start = kk.index(normal("Өткен жылғы акцияның қорытындысымен («Мектепке жол» – 2016)"))
    first_section = normal(f"I. {RAW['sections'][0]['title']}")
    paragraph = kk[start:kk.index(first_section, start)]
    previous = RAW["previous"]["totals"]
    totals = _figures(run.outbox / FINAL.isoformat() / "figures.csv", "oblast")
    for code, unit in (("help_children", "балаға"), ("help_amount", "мың теңгеге")):
        diff = totals[code] - previous[code]
        by = _grouped(abs(diff), 0) if code == "help_children" else _grouped(abs(diff) / 1000, 1)
        percent = _grouped(abs(diff) / previous[code] * 100, 1)
        word = "артты" if diff > 0 else "азайды"
        assert normal(f"{by} {unit}, яғни {percent}%-ға {word}") in paragraph, (code, paragraph)


def test_no_west_kazakhstan_word_but_the_regions_name(run: Run) -> None:
    plan = load_plan(REPUBLIC_PLAN)
    # No allowance: the document's form (author, creator, table headings) is the plan's too.
    assert not foreign_hits(plan, run.outbox)
    # The region's own name is there (it reported), the oblast's districts and officials are not.
    assert "батыс қазақстан облысы" in _texts(run)["kk"]
    for word in ("Гумарова", "Тоқжанов", "Сәрсенова", "Зеленов", "Шыңғырлау"):
        assert word.lower() not in _texts(run)["kk"]


def test_the_ten_day_cut_counts_the_oblasts_8_august_report(run: Run) -> None:
    figures = _figures(run.outbox / CUT.isoformat() / "figures.csv", "west_kazakhstan")
    oblast = _figures(run.oblast_outbox / OBLAST_CUT.isoformat() / "figures.csv", "oblast")
    for ours, theirs in RAW["sources"][0]["figures"].items():
        assert figures.get(ours) == oblast.get(theirs), ours


# --- refusals: each a coded message, never a traceback ------------------------------------------------------
def _write_plan(data: dict, path: Path) -> Path:
    """A changed copy of a plan, its source plans named by absolute path (the copy lives elsewhere)."""
    for source in data.get("sources", []):
        if source.get("plan") and not Path(source["plan"]).is_absolute():
            source["plan"] = str(REPUBLIC_PLAN.parent / source["plan"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _refused(out: subprocess.CompletedProcess[str], code: str, exit_code: int) -> None:
    assert out.returncode == exit_code, (out.returncode, out.stdout, out.stderr)
    assert f"[{code}]" in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_export_refusals(run: Run, tmp_path: Path) -> None:
    to = str(REPUBLIC_PLAN)
    # A date whose figures serve no republic date: the dates that do are named.
    out = cli("export", "--to", to, "--date", "2017-08-17", "--outbox", str(run.oblast_outbox), "--out", str(tmp_path))
    _refused(out, "export-date-serves-none", 2)
    assert "2017-08-08 → 2017-08-11" in out.stderr and "2017-09-28 → 2017-09-30" in out.stderr
    # No published report of that date.
    empty = tmp_path / "empty-outbox"
    shutil.copytree(run.oblast_outbox, empty, ignore=shutil.ignore_patterns("2017-09-28", ".cache"))
    out = cli("export", "--to", to, "--date", "2017-09-28", "--outbox", str(empty), "--out", str(tmp_path / "x"))
    _refused(out, "export-no-report", 3)
    assert not (tmp_path / "x").exists()
    # A report edited by hand after it was published: not what the report wrote.
    edited = tmp_path / "edited-outbox"
    shutil.copytree(run.oblast_outbox, edited, ignore=shutil.ignore_patterns(".cache"))
    figures = edited / "2017-09-28" / "figures.csv"
    figures.write_text(figures.read_text(encoding="utf-8-sig").replace(",help_children,", ",help_children,1", 1),
                       encoding="utf-8-sig")
    out = cli("export", "--to", to, "--date", "2017-09-28", "--outbox", str(edited), "--out", str(tmp_path / "y"))
    _refused(out, "export-report-damaged", 3)
    # A republic plan that does not know the oblast's name.
    renamed = yaml.safe_load(REPUBLIC_PLAN.read_text(encoding="utf-8"))
    wko = next(u for u in renamed["units"] if u["code"] == "west_kazakhstan")
    wko.update(name="Жайық облысы", short="Жайық обл.", name_ru="Жаикская область", aliases=[],
               cases={k: v.replace("Батыс Қазақстан", "Жайық") for k, v in wko["cases"].items()},
               cases_ru={k: v.replace("Западно-Казахстанской", "Жаикской") for k, v in wko["cases_ru"].items()})
    for source in renamed["sources"]:
        source.pop("plan")
    other = tmp_path / "renamed.yaml"
    other.write_text(yaml.safe_dump(renamed, allow_unicode=True), encoding="utf-8")
    out = cli("export", "--to", str(other), "--outbox", str(run.oblast_outbox), "--out", str(tmp_path / "z"))
    _refused(out, "export-region-unknown", 2)
    # With the source plan named, the plan check itself says it (key path and code).
    renamed["sources"][0]["plan"] = str(OBLAST_PLAN)
    other.write_text(yaml.safe_dump(renamed, allow_unicode=True), encoding="utf-8")
    out = cli("plan", "check", str(other))
    assert out.returncode == 2 and "sources[mektepke-zhol-2017]" in out.stderr and "[plan-source-region]" in out.stderr


def test_export_from_another_campaigns_outbox(run: Run, tmp_path: Path) -> None:
    """The Жамбыл test plan's campaign mapped too (a copy of the republic plan): exporting it from the West
    Kazakhstan outbox is refused before anything is read."""
    zhambyl = REPO / "tests" / "plans" / "other-oblast.yaml"
    both = yaml.safe_load(REPUBLIC_PLAN.read_text(encoding="utf-8"))
    both["sources"][0]["plan"] = str(OBLAST_PLAN)
    both["sources"].append({
        "campaign": "mektepke-zhol-2017-zhambyl", "plan": str(zhambyl),
        "figures": {"help_children": "pupils_helped", "sponsor_children": "pupils_helped_by_sponsors",
                    "help_amount": "help_tenge", "sponsor_amount": "help_tenge_sponsors", "raids": "raid_count",
                    "raid_participants": "raid_members", "out_of_school_found": "children_not_attending",
                    "returned_to_school": "children_returned"},
        "not_collected": both["sources"][0]["not_collected"]})
    path = _write_plan(both, tmp_path / "republic-two-sources.yaml")
    assert cli("plan", "check", str(path)).returncode == 0
    out = cli("--plan", str(zhambyl), "export", "--to", str(path), "--outbox", str(run.oblast_outbox),
              "--out", str(tmp_path / "x"))
    _refused(out, "export-other-campaign", 2)
    # Without a mapping for it: refused with its own code.
    out = cli("--plan", str(zhambyl), "export", "--to", str(REPUBLIC_PLAN), "--outbox", str(run.oblast_outbox))
    _refused(out, "export-no-mapping", 2)


def test_plan_check_against_a_source_plan(tmp_path: Path) -> None:
    assert cli("plan", "check", str(REPUBLIC_PLAN), "--source", str(OBLAST_PLAN)).returncode == 0
    # A plan of a campaign the republic plan has no mapping for.
    out = cli("plan", "check", str(REPUBLIC_PLAN), "--source", str(REPO / "tests" / "plans" / "other-oblast.yaml"))
    assert out.returncode == 2 and "[plan-source-none]" in out.stderr
    broken = yaml.safe_load(REPUBLIC_PLAN.read_text(encoding="utf-8"))
    figures = broken["sources"][0]["figures"]
    figures["raids"] = "raids_held"  # the oblast has no such figure (renamed next year)
    figures["sponsor_children"] = "help_amount"  # an amount for a count, no part of help_children, and twice
    figures["sponsor_amount"] = "help_amount"
    path = _write_plan(broken, tmp_path / "broken.yaml")
    out = cli("plan", "check", str(path))
    assert out.returncode == 2
    for code in ("plan-source-unknown", "plan-source-unit", "plan-source-part", "plan-source-twice"):
        assert f"[{code}]" in out.stderr, (code, out.stderr)
    assert "sources[mektepke-zhol-2017].figures.raids" in out.stderr
    # The same mistakes in Russian.
    env_out = subprocess.run([sys.executable, "-m", "pipeline", "--lang", "ru", "plan", "check", str(path)],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "[plan-source-unknown]" in env_out.stderr and "нет в плане" in env_out.stderr


@pytest.mark.parametrize(("change", "code"), [
    (lambda p: p["sources"][0]["not_collected"].append("raids"), "plan-source-both"),
    (lambda p: p["sources"][0]["figures"].pop("raids"), "plan-source-incomplete"),
    (lambda p: p["sources"][0]["not_collected"].append("help_children") or p["sources"][0]["figures"].pop("help_children"),
     "plan-source-required"),
    (lambda p: p["sources"][0]["figures"].update({"nope": "raids"}), "plan-source-figure"),
    (lambda p: p["sources"][0].update(statuses={"final": "finished"}), "plan-source-status"),
    (lambda p: p["sources"][0].update(campaign=p["campaign"]["code"]), "plan-source-self"),
    (lambda p: p["report"]["rankings"].append({"by": "share", "figure": "help_children"}), "plan-ranking-share"),
    (lambda p: p["report"]["rankings"].append({"by": "figure", "figure": "nope"}), "plan-ranking-figure"),
    (lambda p: p["report"]["rankings"].append({"by": "figure", "figure": "raids", "top": 0}), "plan-ranking-count"),
    (lambda p: p["report"].pop("per_head"), "plan-ranking-per-head"),
])
def test_republic_plan_mistakes_are_named(tmp_path: Path, change, code: str) -> None:  # noqa: ANN001
    data = yaml.safe_load(REPUBLIC_PLAN.read_text(encoding="utf-8"))
    change(data)
    out = cli("plan", "check", str(_write_plan(data, tmp_path / "plan.yaml")))
    assert out.returncode == 2 and f"[{code}]" in out.stderr, out.stderr


# --- the parts, in-process -----------------------------------------------------------------------------------
def test_lists_of_regions_read_as_officials_write_them() -> None:
    from pipeline.render.language import KAZAKH, RUSSIAN

    plan = load_plan(REPUBLIC_PLAN)
    units = lambda *codes: [plan.unit_by_code[c] for c in codes]  # noqa: E731
    assert KAZAKH.units(units("akmola", "aktobe", "zhambyl"), "place") == "Ақмола, Ақтөбе және Жамбыл облыстарында"
    assert KAZAKH.units(units("akmola", "zhambyl"), "owner") == "Ақмола және Жамбыл облыстарының"
    assert KAZAKH.units(units("akmola", "zhambyl"), "subject") == "Ақмола және Жамбыл облыстары"
    assert KAZAKH.units(units("zhambyl"), "place") == "Жамбыл облысында"
    assert (KAZAKH.units(units("akmola", "zhambyl", "astana", "almaty"), "place")
            == "Астана және Алматы қалаларында, Ақмола және Жамбыл облыстарында")
    assert KAZAKH.units(units("almaty_region", "almaty"), "place") == "Алматы қаласында және Алматы облысында"
    assert (RUSSIAN.units(units("akmola", "aktobe", "zhambyl"), "place")
            == "Акмолинской, Актюбинской и Жамбылской областях")
    assert (RUSSIAN.units(units("north_kazakhstan", "astana"), "place")
            == "г.\u00a0Астане и Северо-Казахстанской области")


def test_the_regions_form_names_its_unit_row_as_a_region() -> None:
    from pipeline.forms.build import build_form

    def label(plan_path: Path, unit: str) -> str:
        built = build_form(load_plan(plan_path), unit)
        row = built.rows["form.unit"].row
        return built.workbook["Нысан"].cell(row=row, column=2).value

    assert label(REPUBLIC_PLAN, "akmola") == RAW["region"]["unit_label"] == "Облыс (қала)"
    assert label(OBLAST_PLAN, "syrym") == "Аудан (қала)"


def test_sample_regions_are_of_a_regions_size(tmp_path: Path) -> None:
    """shared/domain.md: a region helps 5 000–30 000 children; the two cities are regions like the others
    (not the 4× of an oblast's centre city)."""
    from pipeline.tools.samples import generate_samples

    plan = load_plan(REPUBLIC_PLAN)
    samples = generate_samples(plan, tmp_path, seed=SEED, dates=[FINAL])
    helped = {f.unit: f.values["help_children"] for f in samples.files if f.unit != plan.department.code}
    assert set(helped) == {u["code"] for u in RAW["units"]} - {u for u, d in samples.missing}
    assert all(5_000 <= v <= 30_000 for v in helped.values()), helped
    assert 100_000 <= sum(helped.values()) <= 16 * 30_000


def test_the_dates_an_oblast_report_serves() -> None:
    from pipeline.export import serving_dates

    assert serving_dates(load_plan(OBLAST_PLAN), load_plan(REPUBLIC_PLAN)) == {OBLAST_CUT: CUT, OBLAST_FINAL: FINAL}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(dt.date(2017, 8, 1), dt.date(2017, 9, 30)), min_size=1, max_size=8, unique=True),
       st.lists(st.dates(dt.date(2017, 8, 1), dt.date(2017, 9, 30)), min_size=1, max_size=4, unique=True))
def test_each_higher_date_is_served_by_the_latest_report_before_it(ours: list[dt.date], theirs: list[dt.date]) -> None:
    from types import SimpleNamespace

    from pipeline.export import serving_dates

    source, target = SimpleNamespace(dates=tuple(sorted(ours))), SimpleNamespace(dates=tuple(sorted(theirs)))
    served = serving_dates(source, target)  # type: ignore[arg-type]
    for date in target.dates:
        before = [d for d in source.dates if d <= date]
        if before:
            assert before[-1] in served and served[before[-1]] <= date
    for mine, higher in served.items():
        # No later report of ours stands before the higher date it serves.
        assert not [d for d in source.dates if mine < d <= higher]


REGION_CODES = [u["code"] for u in RAW["units"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(
    st.sampled_from(REGION_CODES),
    st.tuples(st.sampled_from([5_000, 12_000, 30_000]) | st.integers(1, 30_000), st.floats(0, 1),
              st.integers(2_000, 20_000), st.floats(0, 1)),
    min_size=2))
def test_totals_are_the_sum_and_rankings_are_ordered_for_any_regions(regions: dict) -> None:
    """Whatever the regions report, the republic total is their sum and each ranking lists them from the
    highest, equal values in the plan's order, the last ones apart and from the lowest."""
    from pipeline.aggregate import aggregate, figures_table, select
    from pipeline.aggregate.facts import ranked
    from pipeline.validate import validate_forms
    from tests.rawforms import raw_form

    plan = load_plan(REPUBLIC_PLAN)
    raws, expected = [], {}
    for code, (children, sponsor_share, per_head, money_share) in regions.items():
        amount = children * per_head
        values = {"help_children": children, "sponsor_children": int(children * sponsor_share),
                  "help_amount": amount, "sponsor_amount": int(amount * money_share)}
        expected[code] = values
        raws.append(raw_form(plan, f"{code}.xlsx", unit=_name(code), date=FINAL, values=values))
    data = aggregate(plan, select(plan, validate_forms(plan, raws), FINAL))
    table = figures_table(data)
    totals = {r["figure"]: r["value"] for r in table.to_dict("records") if r["unit"] == "oblast"}
    for code in ("help_children", "sponsor_children", "help_amount", "sponsor_amount"):
        assert totals[code] == sum(v[code] for v in expected.values())
    order = {c: n for n, c in enumerate(REGION_CODES)}
    measures = {
        "help_children": lambda v: v["help_children"],
        "sponsor_amount": lambda v: v["sponsor_amount"],
        "per_head": lambda v: v["help_amount"] / v["help_children"],
        "share": lambda v: v["sponsor_amount"] / v["help_amount"] * 100,
    }
    for ranking in plan.report.rankings:
        key = "per_head" if ranking.by == "per_head" else "share" if ranking.by == "share" else ranking.figure
        # Every region here helped someone with some money: each has a value for every measure.
        want = sorted(((c, measures[key](v)) for c, v in expected.items()), key=lambda kv: (-kv[1], order[kv[0]]))
        got = ranked(data, ranking)
        assert [c for c, _ in got.order] == [c for c, _ in want]
        assert [x for _, x in got.order] == pytest.approx([x for _, x in want])
        assert got.top == got.order[: ranking.top]
        assert len(got.bottom) == min(ranking.bottom, max(0, len(want) - ranking.top))
        assert not {c for c, _ in got.top} & {c for c, _ in got.bottom}
        lows = [x for _, x in got.bottom]
        assert lows == sorted(lows) and (not lows or lows[0] == min(x for _, x in want))


# --- the multi-plan checks (tests/test_multi_plan_e2e.py) on the republic plan -------------------------------
@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The republic plan run as any campaign is: forms → sample forms with the demo's mess → every date."""
    from test_multi_plan_e2e import run_campaign

    return run_campaign(REPUBLIC_PLAN, tmp_path_factory.mktemp("republic-campaign"))


def test_the_republic_campaign_says_every_figure(campaign) -> None:  # noqa: ANN001
    from test_multi_plan_e2e import check_reports, unsaid_figures

    check_reports(campaign)
    assert len(list(campaign.forms.iterdir())) == len(RAW["units"]) + 1
    for date in (CUT, FINAL):
        assert not unsaid_figures(campaign, date.isoformat()), date


def test_the_republic_campaign_has_no_word_of_another(campaign) -> None:  # noqa: ANN001
    assert not foreign_hits(campaign.plan, campaign.outbox)
    assert not foreign_hits(campaign.plan, campaign.forms)


def test_the_portal_serves_the_regions(campaign, tmp_path: Path) -> None:  # noqa: ANN001
    """A link for each of the 16 regions and the ministry; the ministry's page names it by its own short
    word, each region's page its name; the ministry builds the report through the portal."""
    from starlette.testclient import TestClient

    from pipeline.portal import PortalConfig, create_app, make_links

    outbox = tmp_path / "outbox"
    links = {role: url.removeprefix("http://portal") for role, url in make_links(outbox, campaign.plan, "http://portal")}
    assert set(links) == {u["code"] for u in RAW["units"]} | {"department"}
    config = PortalConfig(inbox=campaign.inbox, outbox=outbox, plan_path=campaign.plan_path, today=lambda: CUT)
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        ministry = client.get(links["department"])
        assert ministry.status_code == 200 and RAW["department"]["name"] in ministry.text
        assert RAW["department"]["short"] in ministry.text and "Басқарма" not in ministry.text
        # The page speaks of the plan's units (regions), never of an oblast's districts.
        assert RAW["region"]["units"]["genitive"] in ministry.text and "аудандардың" not in ministry.text.lower()
        for unit in RAW["units"]:
            page = client.get(links[unit["code"]])
            assert page.status_code == 200 and unit["name"] in page.text and RAW["campaign"]["clock"] in page.text
        detail = client.get(f"{links['department']}/unit/akmola")
        assert f"← {RAW['department']['short']} беті" in detail.text
        russian = client.get(f"{links['department']}/unit/akmola?lang=ru")
        assert RAW["department"]["short_ru"] in russian.text and "Страница управления" not in russian.text
        token = ministry.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        built = client.post(f"{links['department']}/build", data={"date": CUT.isoformat(), "csrf": token},
                            headers={"Accept": "application/json"})
        assert built.status_code == 200 and built.json()["built"] is True, built.text[:2000]
    assert (outbox / CUT.isoformat() / f"akparat-{CUT.isoformat()}.docx").is_file()


def test_an_oblast_may_rank_its_districts(tmp_path: Path) -> None:
    """Rankings are the plan's, at any level: the 2017 oblast plan asking for them names its districts."""
    from pipeline.aggregate import aggregate, select
    from pipeline.render.context import build_context
    from pipeline.validate import validate_forms
    from tests.rawforms import GOOD, raw_form

    data = yaml.safe_load(OBLAST_PLAN.read_text(encoding="utf-8"))
    data["report"]["rankings"] = [{"by": "figure", "figure": "help_children", "top": 2, "bottom": 1},
                                  {"by": "share", "figure": "sponsor_children", "top": 1}]
    path = tmp_path / "ranked.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert cli("plan", "check", str(path)).returncode == 0
    plan = load_plan(path)
    helped = {"Орал қаласы": (900, 300), "Сырым ауданы": (400, 390), "Теректі ауданы": (650, 100),
              "Ақжайық ауданы": (650, 200)}
    raws = [raw_form(plan, f"{n}.xlsx", unit=name, date=dt.date(2017, 8, 17),
                     values={**GOOD, "help_children": c, "sponsor_children": s, "help_amount": c * 5000,
                             "sponsor_amount": s * 5000, "fund_amount": 0})
            for n, (name, (c, s)) in enumerate(helped.items())]
    report = aggregate(plan, select(plan, validate_forms(plan, raws), dt.date(2017, 8, 17)))
    kk = normal(" ".join(build_context(report, language="kk")["summary"]))
    ru = normal(" ".join(build_context(report, language="ru")["summary"]))
    # Equal values keep the plan's order (Ақжайық before Теректі); the lowest is named apart.
    assert normal("Көмек көрсетілген балалар саны бойынша алдыңғы қатарда – Орал қаласы (900), Ақжайық ауданы (650); "
                  "ең төменгі көрсеткіштер – Сырым ауданы (400).") in kk
    assert normal("лидируют г. Уральск (900), Акжаикский район (650); наименьшие значения – Сырымский район (400).") in ru
    assert normal("По показателю «доля „за счёт спонсоров и меценатов“ в показателе „Дети, получившие помощь“» "
                  "лидируют Сырымский район (97,5%).") in ru
    # A part's share of its whole, named from the wording file when the plan gives no label.
    assert normal("«Көмек көрсетілген балалар саны» көрсеткішіндегі «демеушілер мен меценаттар есебінен» үлесі "
                  "бойынша алдыңғы қатарда – Сырым ауданы (97,5%).") in kk


def test_a_forged_provenance_row_is_only_text_in_the_manifest(run: Run, tmp_path: Path) -> None:
    """A region may type anything into the provenance row: the manifest repeats it capped and cleaned,
    and the form is judged like any other (the row claims, it does not prove)."""
    from pipeline.report import SOURCE_MAX, run_report
    from pipeline.tools.samples import fill_form

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    forged = inbox / "forged.xlsx"
    fill_form(run.exports[-1], forged, {"form.source": "sha256:жалған " + "ф" * 5000})
    result = run_report(FINAL.isoformat(), inbox=inbox, outbox=tmp_path / "outbox", plan_path=REPUBLIC_PLAN)
    manifest = json.loads((tmp_path / "outbox" / FINAL.isoformat() / "manifest.json").read_text(encoding="utf-8"))
    source = manifest["inputs"][0]["source"]
    assert len(source) == SOURCE_MAX and source.startswith("sha256:жалған")
    assert result.exit_code == 0


def test_a_regions_sum_of_tenge_is_not_taken_for_an_iin(tmp_path: Path) -> None:
    """116 694 000 tenge reads like the ИИН of a child born on 16 January 2000 that lost its three leading
    zeros in a number cell. In a row of tenge it is what a region's help comes to: read as a sum there; in
    any other row, and with 11–12 digits anywhere, still masked."""
    from pipeline.forms.build import write_form
    from pipeline.privacy import mask_number
    from pipeline.report import check_files
    from pipeline.tools.samples import fill_form, sample_values

    assert mask_number(116_694_000) and not mask_number(116_694_000, amount=True)
    assert mask_number(int("050312500123"), amount=True)  # a child born in 2005: 11 digits, still an ИИН
    plan = load_plan(REPUBLIC_PLAN)
    blank = write_form(plan, "akmola", tmp_path / "blank.xlsx")
    values = sample_values(plan, "akmola", FINAL, seed=SEED)
    values.update(help_amount=116_694_000, sponsor_amount=58_000_000, help_children=15_000)
    fill_form(blank, tmp_path / "filled.xlsx", values)
    [verdict] = check_files([tmp_path / "filled.xlsx"], plan_path=REPUBLIC_PLAN)
    assert verdict.submission is not None and verdict.submission.values["help_amount"] == 116_694_000
    assert not {p.code for p in verdict.problems} & {"personal-data-masked", "value-not-number"}
