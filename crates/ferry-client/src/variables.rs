//! Variables of environments.

use reqwest::Method;

use crate::*;

/// Variables of environments (administrators only).
impl Client {
    /// The variables of `environment` as its steps see them; secrets
    /// without their values.
    pub async fn variables(&self, environment: &str) -> Result<Page<ferry_api::Variable>, Error> {
        self.get(&["environments", environment, "variables"], None::<&()>)
            .await
    }

    /// Sets variable `name` of `environment`.
    pub async fn set_variable(
        &self,
        environment: &str,
        name: &str,
        variable: &ferry_api::SetVariable,
    ) -> Result<ferry_api::Variable, Error> {
        self.send_json(
            Method::PUT,
            &["environments", environment, "variables", name],
            variable,
        )
        .await
    }

    /// Removes variable `name` of `environment`; the answer is the variable
    /// removed.
    pub async fn unset_variable(
        &self,
        environment: &str,
        name: &str,
    ) -> Result<ferry_api::Variable, Error> {
        let path = ["environments", environment, "variables", name];
        decode(self.send(self.request(Method::DELETE, &path)).await?).await
    }
}
