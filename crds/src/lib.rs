//! Mars's domain kinds as Rust types with kube's `CustomResource` derive:
//! their CustomResourceDefinitions, validation and defaulting. No IO; the
//! API server installs the definitions, controllers use the types.
