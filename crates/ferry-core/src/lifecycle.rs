//! Lifecycles: the ordered phases a release passes through.
//!
//! A release may enter a phase only once it has succeeded in the phase before
//! (any environment of it). A phase marked `auto` is promoted into as soon as
//! the previous phase succeeds.

use serde::{Deserialize, Serialize};

use crate::Name;

/// One phase: one or more environments deployed at the same stage.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// The environments of this phase.
    pub environments: Vec<Name>,
    /// Whether success in the previous phase promotes into this one by itself.
    #[serde(default)]
    pub auto: bool,
}

/// A lifecycle as configured.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleSpec {
    /// Its unique name.
    pub name: Name,
    /// Its phases, first to last.
    pub phases: Vec<Phase>,
}

impl LifecycleSpec {
    /// The index of the phase holding `environment`, if any.
    pub fn phase_of(&self, environment: &Name) -> Option<usize> {
        self.phases
            .iter()
            .position(|phase| phase.environments.contains(environment))
    }

    /// Every environment of the lifecycle, in phase order.
    pub fn environments(&self) -> impl Iterator<Item = &Name> {
        self.phases
            .iter()
            .flat_map(|phase| phase.environments.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn finds_the_phase_of_an_environment() {
        let lifecycle = LifecycleSpec {
            name: name("default"),
            phases: vec![
                Phase {
                    environments: vec![name("dev")],
                    auto: false,
                },
                Phase {
                    environments: vec![name("qa"), name("staging")],
                    auto: true,
                },
                Phase {
                    environments: vec![name("prod")],
                    auto: false,
                },
            ],
        };
        assert_eq!(lifecycle.phase_of(&name("dev")), Some(0));
        assert_eq!(lifecycle.phase_of(&name("staging")), Some(1));
        assert_eq!(lifecycle.phase_of(&name("prod")), Some(2));
        assert_eq!(lifecycle.phase_of(&name("other")), None);
        let all: Vec<&str> = lifecycle.environments().map(Name::as_str).collect();
        assert_eq!(all, ["dev", "qa", "staging", "prod"]);
    }
}
