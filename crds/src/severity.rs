//! The one severity scale shared by AlertRule, Alert and Case, so an alert's
//! severity carries into the Case it opens without translation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad something is, from `critical` (service down, act now) to `info`
/// (for the record).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum Severity {
    /// A service or site is down or about to be; page someone now.
    Critical,
    /// Users are affected or an objective is at risk.
    High,
    /// Degradation without user impact yet.
    Medium,
    /// Worth a look during working hours.
    Low,
    /// Informational; never pages.
    Info,
}

impl Severity {
    /// A number that grows with severity (`info` = 0 … `critical` = 4), so
    /// callers can pick the worst of several alerts.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }

    /// The wire name (`critical`, `high`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_orders_by_badness() {
        let all = [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        for pair in all.windows(2) {
            assert!(pair[0].rank() < pair[1].rank());
        }
        assert_eq!(
            serde_json::to_value(Severity::Critical).unwrap(),
            Severity::Critical.as_str()
        );
    }
}
