"""A business's own event type, end to end: configured, imported, analysed (R1, R3)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from winback.app.actors import Actor
from winback.app.imports.service import import_file
from winback.app.settings import event_types as svc
from winback.store.customers.models import EngagementEvent

ADMIN = Actor.system("cli")
END = date(2024, 6, 30)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _brand_defence() -> None:
    svc.add_event_type(
        ADMIN,
        code="brand_defence",
        label_zh="维护品牌",
        label_en="Defended the brand",
        role="referral",
    )


@pytest.mark.django_db
def test_events_of_a_configured_type_import_by_code_or_name_and_unknown_ones_are_rejected(
    tmp_path: Path,
) -> None:
    _brand_defence()
    svc.set_event_type_active(ADMIN, "forum_reply", active=False)
    path = _write(
        tmp_path,
        "e.csv",
        "客户编号,互动类型,发生时间\n"
        "C1,brand_defence,2024-03-01\n"
        "C1,维护品牌,2024-03-02\n"
        "C1,Defended the brand,2024-03-03\n"
        "C1,造谣,2024-03-04\n"
        "C1,回帖,2024-03-05\n"
        "C1,推荐,2024-03-06\n",
    )
    summary = import_file("events", path, lang="en")
    assert (summary.inserted, summary.rejected_by_reason) == (4, {"bad_choice": 2})
    stored = sorted(EngagementEvent.objects.values_list("event_type", flat=True))
    assert stored == ["brand_defence", "brand_defence", "brand_defence", "referral"]
    assert summary.rejects_file is not None
    rejects = pl.read_csv(summary.rejects_file, infer_schema=False)
    assert rejects["row_number"].to_list() == ["5", "6"]
    reason = rejects["reason"].to_list()[0]
    assert reason.startswith("互动类型: 造谣 is not one of: ")  # the file's own column name
    assert "brand_defence" in reason
    assert "forum_reply" not in reason  # deactivated: refused (the 6th row, 回帖)


@pytest.mark.slow  # two analyses
@pytest.mark.django_db(transaction=True)
def test_a_brand_defence_counts_like_a_referral_type_value_signal_in_the_analysis(
    tmp_path: Path,
) -> None:
    from winback.analytics.features import customer_features
    from winback.analytics.indicators import raw_values
    from winback.app.analysis.service import analyze, extract
    from winback.app.settings.profile import current_profile
    from winback.store.analysis.models import CustomerSnapshot

    _brand_defence()
    orders = "order_id,customer_id,order_date,amount\n" + "".join(
        f"O{c}-{k},C{c},2024-0{1 + (c + k) % 5}-{10 + k},{50 + c}\n"
        for c in range(30)
        for k in range(1 + c % 4)
    )
    assert import_file("orders", _write(tmp_path, "o.csv", orders)).rejected == 0
    events = "customer_id,event_type,date\nC1,维护品牌,2024-06-01\nC1,brand_defence,2024-06-20\n"
    assert import_file("events", _write(tmp_path, "e.csv", events)).inserted == 2
    c1 = EngagementEvent.objects.values_list("customer_id", flat=True).first()

    def signals() -> dict[str, object]:
        frames = extract(END, "Asia/Shanghai")
        features = customer_features(frames, current_profile(), END)
        raw = raw_values(features.with_columns(p_alive=None, btyd_no_return=None), END)
        row = features.join(raw, on="customer_pk").filter(pl.col("customer_pk") == c1)
        return row.select(
            "referral_n", "engagement_n_365", "engagement_last", "engagement_silence"
        ).row(0, named=True)

    counted = signals()
    assert counted == {
        "referral_n": 2,
        "engagement_n_365": 2,
        "engagement_last": date(2024, 6, 20),
        "engagement_silence": 10.0,
    }
    run = analyze(END)
    assert run.customers == 30
    assert CustomerSnapshot.objects.filter(as_of=END, customer_id=c1).exists()

    # Deactivated, the type counts for nothing: the same customer's signals move back.
    svc.set_event_type_active(ADMIN, "brand_defence", active=False)
    ignored = signals()
    assert (ignored["referral_n"], ignored["engagement_n_365"]) == (0, 0)
    assert ignored["engagement_last"] is None
    assert ignored["engagement_silence"] > counted["engagement_silence"]  # type: ignore[operator]
    assert analyze(END).customers == 30  # stored events of an inactive type break nothing


@pytest.mark.django_db
def test_events_of_retired_or_undefined_types_export_by_their_code(tmp_path: Path) -> None:
    from winback.app.imports.data_export import export_data

    _brand_defence()
    path = _write(
        tmp_path,
        "e.csv",
        "customer_id,event_type,date\nC1,维护品牌,2024-03-01\nC1,投诉,2024-03-02\n",
    )
    assert import_file("events", path).inserted == 2
    svc.set_event_type_active(ADMIN, "brand_defence", active=False)
    EngagementEvent.objects.filter(event_type="complaint").update(event_type="hand_edited")
    out = export_data("events", "csv", tmp_path / "events.csv")
    assert out.rows == 2
    exported = pl.read_csv(tmp_path / "events.csv", infer_schema=False)
    assert sorted(exported["event_type"].to_list()) == ["brand_defence", "hand_edited"]
