// TEMPORARY stand-ins until mars-apiextensions lands its API.
use mars_apiextensions::FieldError;
use serde_json::Value;
#[derive(Debug, Clone)]
pub struct Structural;
impl Structural {
    pub fn compile(_: &Value, _: &str) -> Result<Self, Vec<FieldError>> {
        Ok(Self)
    }
    pub fn prune(&self, _: &mut Value) -> Vec<String> {
        Vec::new()
    }
    pub fn apply_defaults(&self, _: &mut Value) {}
    pub fn validate(&self, _: &Value) -> Vec<FieldError> {
        Vec::new()
    }
}
#[derive(Debug, Clone)]
pub struct Rules;
impl Rules {
    pub fn compile(_: &Value, _: &str) -> Result<Self, Vec<FieldError>> {
        Ok(Self)
    }
    pub fn is_empty(&self) -> bool {
        true
    }
    pub fn evaluate(&self, _: &Value, _: Option<&Value>) -> Vec<FieldError> {
        Vec::new()
    }
}
