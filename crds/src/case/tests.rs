use std::collections::BTreeMap;

use super::*;
use crate::alert::{AlertThreshold, Operator};
use crate::change_plan::{Approval, FreezeWindow, Step, VerifyCheck};
use Phase::*;

/// The complete legal edge list, written independently of `transition`.
const LEGAL: [(Phase, Phase, Event); 10] = [
    (New, Analyzing, Event::AnalysisStarted),
    (Analyzing, Planning, Event::PlanningStarted),
    (Planning, WaitingApproval, Event::ApprovalRequested),
    (WaitingApproval, Executing, Event::Approved),
    (WaitingApproval, Parked, Event::Rejected),
    (Executing, Verifying, Event::ExecutionSucceeded),
    (Executing, Parked, Event::ExecutionFailed),
    (Verifying, Closed, Event::Verified),
    (Verifying, Parked, Event::VerificationFailed),
    (Parked, Planning, Event::Resumed),
];

#[test]
fn every_pair_of_phases() {
    let mut checked = 0;
    for from in Phase::ALL {
        for to in Phase::ALL {
            let expected = LEGAL
                .iter()
                .find(|(f, t, _)| *f == from && *t == to)
                .map(|(_, _, e)| *e);
            match (transition(from, to), expected) {
                (Ok(event), Some(want)) => assert_eq!(event, want, "{from} -> {to}"),
                (Err(err), None) => {
                    assert_eq!(err, IllegalTransition { from, to });
                    assert!(!err.to_string().is_empty());
                }
                (got, want) => panic!("{from} -> {to}: got {got:?}, want {want:?}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 64);
}

#[test]
fn next_agrees_with_transition() {
    for from in Phase::ALL {
        for to in Phase::ALL {
            assert_eq!(from.next().contains(&to), transition(from, to).is_ok());
        }
    }
}

#[test]
fn closed_is_terminal_and_same_phase_is_no_transition() {
    for to in Phase::ALL {
        assert!(transition(Closed, to).is_err());
    }
    assert!(Closed.is_terminal());
    for p in Phase::ALL {
        let err = transition(p, p).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
    }
    let err = transition(Closed, Planning).unwrap_err().to_string();
    assert!(err.contains("final"), "{err}");
    let err = transition(New, Executing).unwrap_err().to_string();
    assert_eq!(
        err,
        "a Case cannot move from New to Executing; from New it may only move to Analyzing"
    );
}

#[test]
fn phase_wire_names() {
    for p in Phase::ALL {
        assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
    }
    assert_eq!(Phase::default(), New);
}

fn step(name: &str, action: &str, timeout_seconds: i32, retries: i32) -> Step {
    Step {
        name: name.into(),
        action: action.into(),
        target: None,
        parameters: BTreeMap::new(),
        timeout_seconds,
        retries,
    }
}

fn check(name: &str) -> VerifyCheck {
    VerifyCheck {
        name: name.into(),
        objective: None,
        expr: "mars_link_utilization_percent".into(),
        threshold: AlertThreshold {
            operator: Operator::Lt,
            value: 70.0,
        },
        window_seconds: 300,
    }
}

fn good_plan() -> ChangePlanSpec {
    ChangePlanSpec {
        case_ref: LocalRef { name: "c1".into() },
        summary: None,
        drafted_by: None,
        steps: vec![step("steer", "traffic.steer", 60, 1)],
        rollback: vec![step("unsteer", "traffic.unsteer", 60, 0)],
        verify: vec![check("util-normal")],
        risk_score: 0.2,
        approval: Approval {
            mode: ApprovalMode::Manual,
            approved_by: Some("li.na".into()),
            approved_at: None,
            comment: None,
        },
        freeze_windows: vec![],
    }
}

fn time(s: &str) -> Time {
    Time(s.parse().unwrap())
}

#[test]
fn guard_only_applies_to_waiting_approval_and_executing() {
    for to in Phase::ALL {
        let needs_plan = matches!(to, WaitingApproval | Executing);
        assert_eq!(guard(to, None).is_err(), needs_plan, "{to}");
        assert_eq!(guard(to, Some(&good_plan())), Ok(()), "{to}");
    }
}

/// (case, mutation, phase, expected reason fragments; empty = allowed)
type GuardCase = (
    &'static str,
    fn(&mut ChangePlanSpec),
    Phase,
    &'static [&'static str],
);

#[test]
fn guard_cases() {
    let cases: &[GuardCase] = &[
        ("valid plan", |_| {}, WaitingApproval, &[]),
        ("valid approved plan", |_| {}, Executing, &[]),
        (
            "no steps",
            |p| p.steps.clear(),
            WaitingApproval,
            &["spec.steps: a plan needs at least one step"],
        ),
        (
            "no rollback",
            |p| p.rollback.clear(),
            WaitingApproval,
            &["no rollback steps"],
        ),
        (
            "no verify",
            |p| p.verify.clear(),
            WaitingApproval,
            &["no verify checks"],
        ),
        (
            "empty action",
            |p| p.steps[0].action = " ".into(),
            WaitingApproval,
            &["spec.steps[0].action: a step needs an action"],
        ),
        (
            "timeout 9",
            |p| p.steps[0].timeout_seconds = 9,
            WaitingApproval,
            &["spec.steps[0].timeoutSeconds: timeoutSeconds must be at least 10, got 9"],
        ),
        (
            "timeout 10",
            |p| p.steps[0].timeout_seconds = 10,
            WaitingApproval,
            &[],
        ),
        (
            "retries 4",
            |p| p.steps[0].retries = 4,
            WaitingApproval,
            &["spec.steps[0].retries: retries must be between 0 and 3, got 4"],
        ),
        (
            "retries -1",
            |p| p.steps[0].retries = -1,
            WaitingApproval,
            &["spec.steps[0].retries"],
        ),
        (
            "retries 3",
            |p| p.steps[0].retries = 3,
            WaitingApproval,
            &[],
        ),
        (
            "bad rollback step",
            |p| p.rollback[0].timeout_seconds = 1,
            WaitingApproval,
            &["spec.rollback[0].timeoutSeconds"],
        ),
        (
            "risk above 1",
            |p| p.risk_score = 1.5,
            WaitingApproval,
            &["spec.riskScore: riskScore must be between 0 and 1"],
        ),
        (
            "risk below 0",
            |p| p.risk_score = -0.1,
            WaitingApproval,
            &["spec.riskScore"],
        ),
        ("risk 1", |p| p.risk_score = 1.0, WaitingApproval, &[]),
        (
            "not approved",
            |p| p.approval.approved_by = None,
            Executing,
            &["not approved"],
        ),
        (
            "unapproved may still wait for approval",
            |p| p.approval.approved_by = None,
            WaitingApproval,
            &[],
        ),
        (
            "auto approval under the bar",
            |p| {
                p.approval = Approval::default();
                p.approval.mode = ApprovalMode::Auto;
                p.risk_score = 0.3;
            },
            Executing,
            &[],
        ),
        (
            "auto approval over the bar",
            |p| {
                p.approval = Approval::default();
                p.approval.mode = ApprovalMode::Auto;
                p.risk_score = 0.31;
            },
            Executing,
            &["above the automatic-approval limit"],
        ),
        (
            "several problems at once",
            |p| {
                p.rollback.clear();
                p.verify.clear();
                p.steps[0].retries = 9;
            },
            WaitingApproval,
            &["rollback", "verify", "retries"],
        ),
    ];
    for (name, mutate, to, want) in cases {
        let mut plan = good_plan();
        mutate(&mut plan);
        match guard(*to, Some(&plan)) {
            Ok(()) => assert!(want.is_empty(), "{name}: allowed, want {want:?}"),
            Err(reasons) => {
                assert!(!want.is_empty(), "{name}: refused: {reasons:?}");
                assert_eq!(reasons.len(), want.len(), "{name}: {reasons:?}");
                for fragment in *want {
                    assert!(
                        reasons.iter().any(|r| r.contains(fragment)),
                        "{name}: no reason mentions {fragment:?}: {reasons:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn missing_plan_is_explained() {
    let reasons = guard(WaitingApproval, None).unwrap_err();
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("spec.changePlanRef"), "{reasons:?}");
}

#[test]
fn freeze_windows_block_execution_only() {
    let mut plan = good_plan();
    plan.freeze_windows.push(FreezeWindow {
        start: time("2025-11-10T00:00:00Z"),
        end: time("2025-11-12T00:00:00Z"),
        reason: Some("Double 11".into()),
    });
    let inside = time("2025-11-11T08:00:00Z");
    let after = time("2025-11-12T00:00:00Z");
    let reasons = guard_at(Executing, Some(&plan), &inside).unwrap_err();
    assert!(reasons[0].contains("Double 11"), "{reasons:?}");
    assert_eq!(guard_at(Executing, Some(&plan), &after), Ok(()));
    assert_eq!(guard_at(WaitingApproval, Some(&plan), &inside), Ok(()));
}

#[test]
fn decide_checks_machine_before_guards() {
    let now = time("2025-06-01T00:00:00Z");
    assert_eq!(
        decide(New, Executing, None, &now),
        Err(Refusal::Illegal(IllegalTransition {
            from: New,
            to: Executing
        }))
    );
    assert!(matches!(
        decide(Planning, WaitingApproval, None, &now),
        Err(Refusal::Guard {
            to: WaitingApproval,
            ..
        })
    ));
    assert_eq!(
        decide(Planning, WaitingApproval, Some(&good_plan()), &now),
        Ok(Event::ApprovalRequested)
    );
    assert_eq!(
        decide(New, Analyzing, None, &now),
        Ok(Event::AnalysisStarted)
    );
}

#[test]
fn validate_change_plan_paths() {
    let mut plan = good_plan();
    assert!(validate_change_plan(&plan).is_empty());
    plan.steps.push(step("steer", "", 5, 7));
    let got = validate_change_plan(&plan);
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.steps[1].name",
            "spec.steps[1].action",
            "spec.steps[1].timeoutSeconds",
            "spec.steps[1].retries"
        ]
    );
}

#[test]
fn timeline_entry_round_trips() {
    let entry = TimelineEntry {
        from: Planning,
        to: WaitingApproval,
        actor: "zhang.wei".into(),
        reason: "plan ready".into(),
        time: time("2025-06-01T08:00:00Z"),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
    };
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["from"], "Planning");
    assert_eq!(json["to"], "WaitingApproval");
    assert_eq!(json["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let back: TimelineEntry = serde_json::from_value(json).unwrap();
    assert_eq!(back, entry);
}
