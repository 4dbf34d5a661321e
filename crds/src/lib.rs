//! Mars's domain kinds as Rust types with kube's `CustomResource` derive:
//! their CustomResourceDefinitions, validation and the Case state machine.
//!
//! Owns: the `mars.io/v1alpha1` kinds ([`Site`], [`Link`], [`Device`],
//! [`Workload`], [`TrafficPolicy`], [`AlertRule`], [`Alert`], [`Case`],
//! [`ChangePlan`]), their OpenAPI schemas (structural, with descriptions,
//! CEL rules and printer columns), [`definitions`] for the API server to
//! install and `mars crds` to print, and the pure [`case`] core (state
//! machine and guards) the API server enforces.
//!
//! Must not depend on: any other Mars crate, IO, clocks or the network. The
//! API server installs the definitions and calls the case core; controllers
//! use the types.

pub mod alert;
pub mod case;
pub mod change_plan;
mod definitions;
pub mod device;
pub mod link;
pub mod reference;
mod schema;
pub mod severity;
pub mod site;
pub mod traffic;
pub mod workload;

pub use alert::{Alert, AlertRule, AlertRuleSpec, AlertRuleStatus, AlertSpec, AlertStatus};
pub use case::{
    Case, CaseSpec, CaseStatus, Event, IllegalTransition, Phase, Refusal, TimelineEntry, decide,
    guard, guard_at, transition,
};
pub use change_plan::{ChangePlan, ChangePlanSpec, ChangePlanStatus, validate_change_plan};
pub use definitions::{CATEGORY, GENERATED_YAML, GROUP, VERSION, definitions, definitions_yaml};
pub use device::{Device, DeviceSpec, DeviceStatus};
pub use link::{Link, LinkSpec, LinkStatus};
pub use reference::{LocalRef, ObjectRef, SecretRef};
pub use severity::Severity;
pub use site::{Site, SiteSpec, SiteStatus};
pub use traffic::{TrafficPolicy, TrafficPolicySpec, TrafficPolicyStatus};
pub use workload::{Workload, WorkloadSpec, WorkloadStatus};
