"""The bench's targets judged from a report dict: MET, MISSED, or n/a when the run did not measure them."""

from __future__ import annotations

import pytest

from escalier_cli.bench import report as rep
from escalier_cli.bench.targets import MET, MISSED, NOT_MEASURED, evaluate

SYSTEM = ["broker", "intake", "notifier", "tier1", "tier2", "tier3", "triage"]


def _processes(cpu_s: dict[str, float], **extra) -> dict:
    return {name: {"cpu_s": value, **extra} for name, value in cpu_s.items()}


def a_report(*, rate=None, accepted=100, routed_per_s=50.0, lost=0, p99=500.0, intake_per_s=40.0, http_per_s=2000.0,
             bus_rate=1000, bus_p99=30.0, load_cpu_s=0.1, idle_window_s=5.0, idle_cpu_pct=1.0, idle_rss_mb=90.0,
             lone=None, names=SYSTEM, references=True) -> dict:
    """A bench report with the fields the targets read; each figure the same for every system process."""
    report = {
        "mode": {"rate": rate, "tickets": accepted},
        "system_processes": list(names),
        "intake": {"accepted": accepted, "throughput_per_s": intake_per_s},
        "pipeline": {"lost_count": lost, "throughput_to_queued_per_s": routed_per_s,
                     "to_queued_ms": {"n": accepted, "p99": p99} if accepted else {"n": 0}},
        "processes": _processes({n: load_cpu_s for n in names} | {"bench": 5.0, "bench-load": 5.0}),
        "idle": {"window_s": idle_window_s,
                 "processes": {n: {"cpu_pct": idle_cpu_pct, "rss_mb": idle_rss_mb} for n in [*names, "bench"]}},
    }
    if references:
        report["reference_http"] = {"throughput_per_s": http_per_s}
        report["reference_bus"] = {"rate_per_s": bus_rate, "latency_ms": {"n": 10, "p99": bus_p99}}
    if lone is not None:
        report["lone"] = lone
    return report


def target(report: dict, key: str) -> dict:
    return {t["key"]: t for t in evaluate(report)}[key]


def test_every_target_carries_its_value_threshold_and_verdict():
    for t in evaluate(a_report()):
        assert set(t) == {"key", "name", "goal", "value", "threshold", "unit", "verdict", "note"}
        assert t["verdict"] in (MET, MISSED, NOT_MEASURED)
        assert (t["note"] is None) == (t["verdict"] != NOT_MEASURED)


def test_a_closed_loop_run_of_fewer_than_5000_tickets_does_not_judge_sustained_throughput():
    t = target(a_report(accepted=4999, routed_per_s=1500.0), "closed_loop_routed")
    assert t["verdict"] == NOT_MEASURED and t["value"] == 1500.0 and "5000" in t["note"]


@pytest.mark.parametrize(("routed_per_s", "verdict"), [(1000.0, MET), (999.9, MISSED)])
def test_closed_loop_routing_is_judged_against_1000_tickets_a_second_over_5000(routed_per_s, verdict):
    assert target(a_report(accepted=5000, routed_per_s=routed_per_s), "closed_loop_routed")["verdict"] == verdict


def test_an_open_loop_run_does_not_judge_the_closed_loop_targets():
    report = a_report(rate=100, accepted=6000, routed_per_s=100.0)
    assert target(report, "closed_loop_routed")["verdict"] == NOT_MEASURED
    assert target(report, "closed_loop_intake_vs_http")["verdict"] == NOT_MEASURED


@pytest.mark.parametrize(("intake_per_s", "verdict"), [(1000.0, MET), (990.0, MISSED)])
def test_intake_must_take_half_of_what_bare_http_takes(intake_per_s, verdict):
    t = target(a_report(intake_per_s=intake_per_s, http_per_s=2000.0), "closed_loop_intake_vs_http")
    assert t["verdict"] == verdict and t["threshold"] == 0.5


def test_without_references_the_ratios_are_not_measured():
    report = a_report(rate=100, references=False)
    assert target(report, "p99_to_queued_vs_bus")["verdict"] == NOT_MEASURED
    assert target(report, "p99_to_queued")["verdict"] != NOT_MEASURED
    report = a_report(references=False)
    assert target(report, "closed_loop_intake_vs_http")["verdict"] == NOT_MEASURED


def test_a_lone_ticket_lost_is_a_ticket_lost():
    lone = {"queued": 3, "lost_count": 1, "processes": _processes({n: 0.01 for n in SYSTEM})}
    t = target(a_report(lone=lone), "nothing_lost")
    assert t["verdict"] == MISSED and t["value"] == 1
    assert target(a_report(lone=lone | {"lost_count": 0}), "nothing_lost")["verdict"] == MET


@pytest.mark.parametrize(("rate", "p99", "verdict"), [(100, 100.0, MET), (100, 100.1, MISSED), (50, 20.0, NOT_MEASURED),
                                                      (None, 20.0, NOT_MEASURED)])
def test_p99_to_queued_is_judged_at_100_tickets_a_second_only(rate, p99, verdict):
    assert target(a_report(rate=rate, p99=p99), "p99_to_queued")["verdict"] == verdict


def test_p99_to_queued_may_be_twice_the_bare_bus_p99_for_each_of_two_hops():
    t = target(a_report(rate=100, bus_rate=100, bus_p99=30.0, p99=121.0), "p99_to_queued_vs_bus")
    assert t["threshold"] == 120.0 and t["verdict"] == MISSED
    assert target(a_report(rate=100, bus_rate=100, bus_p99=30.0, p99=120.0), "p99_to_queued_vs_bus")["verdict"] == MET


def test_the_bare_bus_at_another_rate_than_the_load_is_no_reference_for_p99():
    t = target(a_report(rate=100, bus_rate=200, p99=50.0), "p99_to_queued_vs_bus")
    assert t["verdict"] == NOT_MEASURED and "200" in t["note"]


def test_a_lone_ticket_costs_the_cpu_of_the_services_and_the_broker_not_the_bench():
    lone = {"queued": 10, "lost_count": 0, "processes": _processes({n: 0.01 for n in SYSTEM} | {"bench": 9.0})}
    t = target(a_report(lone=lone), "lone_cpu_per_ticket")
    assert t["value"] == 7.0 and t["verdict"] == MET  # 7 processes x 10 ms / 10 tickets
    lone["processes"]["broker"]["cpu_s"] = 0.05
    assert target(a_report(lone=lone), "lone_cpu_per_ticket")["verdict"] == MISSED  # 11 ms


def test_without_the_broker_the_whole_system_figures_are_shown_but_not_judged():
    names = [n for n in SYSTEM if n != "broker"]
    lone = {"queued": 10, "lost_count": 0, "processes": _processes({n: 0.01 for n in names})}
    report = a_report(names=names, lone=lone, idle_window_s=60.0)
    for key in ("lone_cpu_per_ticket", "load_cpu_per_ticket", "idle_cpu", "idle_rss"):
        t = target(report, key)
        assert t["verdict"] == NOT_MEASURED and t["value"] is not None and "broker" in t["note"], key


def test_a_run_without_a_lone_phase_does_not_judge_the_lone_ticket():
    t = target(a_report(), "lone_cpu_per_ticket")
    assert t["verdict"] == NOT_MEASURED and t["value"] is None and "--lone" in t["note"]


@pytest.mark.parametrize(("cpu_s", "verdict"), [(0.02, MET), (0.03, MISSED)])
def test_under_load_a_ticket_may_cost_the_system_2_ms(cpu_s, verdict):
    t = target(a_report(accepted=100, load_cpu_s=cpu_s), "load_cpu_per_ticket")  # 7 processes
    assert t["verdict"] == verdict and t["value"] == round(7 * cpu_s * 10, 2)


def test_idle_cpu_is_judged_over_60_seconds_or_not_at_all():
    assert target(a_report(idle_window_s=5.0, idle_cpu_pct=0.1), "idle_cpu")["verdict"] == NOT_MEASURED
    assert target(a_report(idle_window_s=60.0, idle_cpu_pct=0.7), "idle_cpu")["verdict"] == MET  # 4.9%
    t = target(a_report(idle_window_s=60.0, idle_cpu_pct=1.0), "idle_cpu")
    assert t["verdict"] == MISSED and t["value"] == 7.0  # the bench's own process is not counted


def test_idle_memory_of_the_whole_system_may_not_grow_past_635_mb_and_its_noise():
    assert target(a_report(idle_rss_mb=91.4), "idle_rss")["verdict"] == MET  # 639.8 MB
    assert target(a_report(idle_rss_mb=91.5), "idle_rss")["verdict"] == MISSED  # 640.5 MB
    assert target(a_report(idle_rss_mb=91.5), "idle_rss_largest_service")["verdict"] == MET


def test_cpu_above_idle_takes_off_what_the_system_uses_with_no_load():
    idle = {"processes": {"a": {"cpu_pct": 10.0}, "b": {"cpu_pct": 5.0}}}
    processes = {"a": {"cpu_s": 0.5}, "b": {"cpu_s": 0.25}, "bench": {"cpu_s": 9.0}}
    # 0.75 s used in 2 s, of which 0.3 s idle share: 0.45 s over 10 tickets
    assert rep.above_idle(processes, 2.0, idle, ["a", "b"], 10) == 45.0
    assert rep.above_idle(processes, 2.0, idle, ["a", "c"], 10) is None


def test_the_lone_section_gives_each_process_its_cpu_a_ticket():
    seen = {"to_queued_ms": [80.0, 120.0], "refused": [429], "lost": []}
    section = rep.lone_section(3, seen, {"intake": {"cpu_s": 0.03}}, 1.5, all_notified=True)
    assert section["queued"] == 2 and section["submitted"] == 3 and section["refused"] == {"429": 1}
    assert section["processes"]["intake"]["cpu_ms_per_ticket"] == 15.0
    assert section["to_queued_ms"]["max"] == 120.0
