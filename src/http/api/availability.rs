//! A member's availability and time off over the API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::availability::{HoursInput, TimeOff};
use crate::domain::lead::Change;
use crate::error::Result;
use crate::http::auth::ApiUser;
use crate::http::error::ErrorBody;
use crate::http::extract::ApiJson;
use crate::http::rfc3339;
use crate::service::availability::{self, Input, TimeOffInput, View};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_availability, put_availability))
        .routes(routes!(add_time_off))
        .routes(routes!(delete_time_off))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HoursJson {
    /// `mon` .. `sun`.
    day: String,
    /// `HH:MM`, local time in the member's time zone.
    start: String,
    /// `HH:MM`; before `start` for a shift past midnight.
    end: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffJson {
    id: String,
    starts_at: String,
    ends_at: String,
    #[schema(required = true)]
    reason: Option<String>,
}

impl From<TimeOff> for TimeOffJson {
    fn from(t: TimeOff) -> Self {
        TimeOffJson {
            id: t.id,
            starts_at: rfc3339(t.starts_at),
            ends_at: rfc3339(t.ends_at),
            reason: t.reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityJson {
    /// IANA time zone name.
    timezone: String,
    /// Empty: always working.
    working_hours: Vec<HoursJson>,
    away: bool,
    #[schema(required = true)]
    daily_cap: Option<i64>,
    /// Time off not over yet, by start.
    time_off: Vec<TimeOffJson>,
    available_now: bool,
    /// `away`, `time_off`, `off_hours` or `capped`; null when available.
    #[schema(required = true)]
    unavailable_reason: Option<String>,
    /// The reason in words, in the member's time zone ("off until Mon 09:00 Europe/Berlin").
    #[schema(required = true)]
    unavailable_detail: Option<String>,
}

impl From<View> for AvailabilityJson {
    fn from(v: View) -> Self {
        let a = v.availability;
        AvailabilityJson {
            timezone: a.timezone_name().to_owned(),
            working_hours: a
                .working_hours
                .iter()
                .map(|h| {
                    let h = HoursInput::from(h);
                    HoursJson {
                        day: h.day,
                        start: h.start,
                        end: h.end,
                    }
                })
                .collect(),
            away: a.away,
            daily_cap: a.daily_cap,
            time_off: a.time_off.into_iter().map(Into::into).collect(),
            available_now: v.unavailable.is_none(),
            unavailable_reason: v.unavailable.map(|u| u.code().to_owned()),
            unavailable_detail: v.unavailable_reason,
        }
    }
}

/// A change; a field left out keeps its value. `daily_cap: null` removes the cap.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AvailabilityRequest {
    #[schema(required = false)]
    timezone: Option<String>,
    #[schema(required = false)]
    working_hours: Option<Vec<HoursJson>>,
    #[schema(required = false)]
    away: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, required = false)]
    daily_cap: Change<i64>,
}

/// A member's availability: time zone, working hours, Away, daily cap, time off, and
/// whether routing can give them a lead right now.
#[utoipa::path(get, path = "/api/v1/team/{user_id}/availability", tag = "team", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    responses((status = 200, body = AvailabilityJson), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_availability(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: ApiUser,
) -> Result<Json<AvailabilityJson>> {
    let view = availability::get(&state.db, &caller.actor, &user_id).await?;
    Ok(Json(view.into()))
}

/// Change a member's availability. The member themself or an Owner/Manager; `daily_cap`
/// only an Owner/Manager.
#[utoipa::path(put, path = "/api/v1/team/{user_id}/availability", tag = "team", security(("bearer" = [])),
    params(("user_id" = String, Path)), request_body = AvailabilityRequest,
    responses((status = 200, body = AvailabilityJson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_availability(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: ApiUser,
    ApiJson(body): ApiJson<AvailabilityRequest>,
) -> Result<Json<AvailabilityJson>> {
    let input = Input {
        timezone: body.timezone,
        working_hours: body.working_hours.map(|hours| {
            hours
                .into_iter()
                .map(|h| HoursInput {
                    day: h.day,
                    start: h.start,
                    end: h.end,
                })
                .collect()
        }),
        away: body.away,
        daily_cap: body.daily_cap,
    };
    let view = availability::update(&state.db, &caller.actor, &user_id, input).await?;
    Ok(Json(view.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TimeOffRequest {
    /// RFC 3339. (Missing fields are refused by name, after the member is found.)
    #[serde(default)]
    starts_at: String,
    /// RFC 3339, after `starts_at`, at most a year later.
    #[serde(default)]
    ends_at: String,
    #[schema(required = false)]
    reason: Option<String>,
}

/// Add time off for a member (the member themself or an Owner/Manager).
#[utoipa::path(post, path = "/api/v1/team/{user_id}/time-off", tag = "team", security(("bearer" = [])),
    params(("user_id" = String, Path)), request_body = TimeOffRequest,
    responses((status = 201, body = TimeOffJson), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_time_off(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    caller: ApiUser,
    ApiJson(body): ApiJson<TimeOffRequest>,
) -> Result<(StatusCode, Json<TimeOffJson>)> {
    let input = TimeOffInput {
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        reason: body.reason,
    };
    let added = availability::add_time_off(&state.db, &caller.actor, &user_id, input).await?;
    Ok((StatusCode::CREATED, Json(added.into())))
}

/// Remove a member's time off.
#[utoipa::path(delete, path = "/api/v1/team/{user_id}/time-off/{id}", tag = "team", security(("bearer" = [])),
    params(("user_id" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_time_off(
    State(state): State<AppState>,
    Path((user_id, id)): Path<(String, String)>,
    caller: ApiUser,
) -> Result<StatusCode> {
    availability::delete_time_off(&state.db, &caller.actor, &user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
