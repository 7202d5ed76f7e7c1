//! Advanced hunting on the legacy API: `POST /api/advancedhunting/run`
//! (<https://learn.microsoft.com/defender-xdr/api-advanced-hunting>).

use reqwest::Method;
use serde_json::json;

use super::{HuntingRequest, HuntingResponse};
use crate::api::ApiError;
use crate::api::client::Call;
use crate::api::legacy::LegacyApi;
use crate::api::retry::Replay;

impl LegacyApi<'_, '_> {
    pub(super) async fn run_hunting_query(
        &mut self,
        request: &HuntingRequest,
    ) -> Result<HuntingResponse, ApiError> {
        let url = self.client.url("/api/advancedhunting/run")?;
        // This API has no timespan: the query's own `where Timestamp > ago(…)` decides.
        let body = json!({"Query": request.query});
        self.client
            .send_json(Call::json(Method::POST, url, &body, Replay::Safe))
            .await
    }
}
