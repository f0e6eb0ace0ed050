//! The release calendar: its entries over a period, its iCalendar feed,
//! and the calendar feeds (the tokens of subscription URLs).

use reqwest::Method;
use serde::Serialize;

use crate::{Client, Error, Page, decode};

/// The query of `GET /api/v1/calendar`: a period and a part of the calendar.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CalendarQuery {
    /// Days after the start (the server's default, 14, when neither this
    /// nor `to` is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// The period's start, RFC 3339 (now when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The period's end, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Only what concerns this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Only what concerns this environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl Client {
    /// The calendar's entries that `query` asks for, by start.
    pub async fn calendar_entries(
        &self,
        query: &CalendarQuery,
    ) -> Result<Page<ferry_api::CalendarEntry>, Error> {
        self.get(&["calendar"], Some(query)).await
    }

    /// The calendar as iCalendar text (`GET /calendar.ics`, with this
    /// client's API token), of one service and one environment when given.
    pub async fn calendar_ics(
        &self,
        service: Option<&str>,
        environment: Option<&str>,
    ) -> Result<String, Error> {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        // Checked in `new`: the base URL can be a base.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("calendar.ics");
        }
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(service) = service {
            query.push(("service", service));
        }
        if let Some(environment) = environment {
            query.push(("env", environment));
        }
        let request = self
            .http
            .get(url.clone())
            .query(&query)
            .header(reqwest::header::ACCEPT, "text/calendar");
        let response = self.send(request).await?;
        response.text().await.map_err(|source| Error::Transport {
            url: url.to_string(),
            reason: crate::root_cause(&source),
            source,
        })
    }

    /// The caller's calendar feeds (everyone's, for those who manage users).
    pub async fn calendar_feeds(&self) -> Result<Page<ferry_api::CalendarFeed>, Error> {
        self.get(&["calendar", "feeds"], None::<&()>).await
    }

    /// Makes a calendar feed for the caller; its secret and its URL's path
    /// are in the answer only.
    pub async fn create_calendar_feed(
        &self,
        feed: &ferry_api::CreateCalendarFeed,
    ) -> Result<ferry_api::CreatedCalendarFeed, Error> {
        self.send_json(Method::POST, &["calendar", "feeds"], feed)
            .await
    }

    /// Revokes a calendar feed: its URL is refused from now on.
    pub async fn revoke_calendar_feed(&self, id: i64) -> Result<ferry_api::CalendarFeed, Error> {
        let response = self
            .send(self.request(Method::DELETE, &["calendar", "feeds", &id.to_string()]))
            .await?;
        decode(response).await
    }
}
