//! The `current_time` tool: the current date and time in an IANA time zone.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde_json::{Value, json};

use super::clock::{Clock, SystemClock};
use super::error::ToolError;
use super::spec::{Tool, ToolSpec, optional_str};

/// Most close matches suggested for an unknown zone name.
const MAX_SUGGESTIONS: usize = 5;

/// The `current_time` tool.
///
/// Zones come from the system's tz database when there is one and from the
/// copy compiled into the binary otherwise, so it works on machines without
/// `/usr/share/zoneinfo`.
#[derive(Clone)]
pub struct CurrentTime {
    spec: ToolSpec,
    clock: Arc<dyn Clock>,
    zones: TimeZoneDatabase,
}

impl std::fmt::Debug for CurrentTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentTime")
            .field("zones", &self.zones)
            .finish_non_exhaustive()
    }
}

impl CurrentTime {
    /// The tool on the system clock and the default tz database.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// The tool on the given clock and the default tz database.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let spec = ToolSpec::new(
            "current_time",
            "Returns the current date, time, weekday and UTC offset in a time zone. \
             Use it whenever the answer depends on today's date or the time of day.",
            json!({
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": "string",
                        "maxLength": 64,
                        "description": "IANA time zone name such as \"Europe/Paris\" or \
                                        \"America/New_York\"; defaults to \"UTC\""
                    }
                },
                "additionalProperties": false
            }),
        );
        Self {
            spec,
            clock,
            zones: jiff::tz::db().clone(),
        }
    }

    /// Uses this tz database instead, e.g. [`TimeZoneDatabase::bundled`]
    /// for results that do not depend on the host.
    pub fn with_database(mut self, zones: TimeZoneDatabase) -> Self {
        self.zones = zones;
        self
    }

    /// Looks a zone up in the configured database, then in the bundled
    /// copy (a system database can be partial or out of date).
    fn lookup(&self, name: &str) -> Option<TimeZone> {
        self.zones
            .get(name)
            .or_else(|_| TimeZoneDatabase::bundled().get(name))
            .ok()
    }

    fn zone(&self, name: &str) -> Result<TimeZone, ToolError> {
        if let Some(tz) = self.lookup(name) {
            return Ok(tz);
        }
        // "New York" and "america/new york" are common near-misses.
        let underscored = name.replace(' ', "_");
        if let Some(tz) = self.lookup(&underscored) {
            return Ok(tz);
        }
        let suggestions = self.suggest(&underscored);
        let hint = if suggestions.is_empty() {
            String::new()
        } else {
            format!(" Did you mean {}?", suggestions.join(", "))
        };
        Err(ToolError::failed(format!(
            "unknown time zone `{name}`. Use an IANA name in Area/Location form, such as \
             \"America/New_York\", \"Europe/London\" or \"Asia/Kolkata\", or \"UTC\"; \
             omit the argument for UTC.{hint}"
        )))
    }

    /// Zone names whose city part matches or contains `name`.
    fn suggest(&self, name: &str) -> Vec<String> {
        let wanted = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
        if wanted.len() < 3 {
            return Vec::new();
        }
        let mut found: Vec<String> = self
            .zones
            .available()
            .map(|zone| zone.as_str().to_owned())
            .filter(|zone| {
                let city = zone.rsplit('/').next().unwrap_or(zone).to_ascii_lowercase();
                city.contains(&wanted)
            })
            .collect();
        found.sort_unstable();
        found.truncate(MAX_SUGGESTIONS);
        found
    }
}

impl Default for CurrentTime {
    fn default() -> Self {
        Self::new()
    }
}

impl Tool for CurrentTime {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call(&self, args: &Value) -> Result<Value, ToolError> {
        let name = optional_str(args, "timezone")?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("UTC");
        let tz = self.zone(name)?;
        describe(self.clock.now(), &tz, name)
    }
}

/// The tool's result for `now` in `tz`, to whole seconds.
fn describe(now: Timestamp, tz: &TimeZone, asked: &str) -> Result<Value, ToolError> {
    let fail = |err: jiff::Error| ToolError::failed(format!("cannot format the time: {err}"));
    let now = Timestamp::from_second(now.as_second()).map_err(fail)?;
    let local = now.to_zoned_datetime(tz.clone());
    let format = |pattern: &str| jiff::fmt::strtime::format(pattern, &local).map_err(fail);
    let info = tz.to_offset_info(now);
    Ok(json!({
        "timezone": tz.iana_name().unwrap_or(asked),
        "iso8601": format("%Y-%m-%dT%H:%M:%S%:z")?,
        "unix": now.as_second(),
        "weekday": format("%A")?,
        "utc_offset": format("%:z")?,
        "abbreviation": info.abbreviation(),
        "dst": info.dst().is_dst(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::tools::clock::FixedClock;

    /// 2024-01-15T12:00:00Z, a Monday in northern winter.
    const WINTER: i64 = 1_705_320_000;
    /// 2024-07-04T16:30:45Z, a Thursday in northern summer.
    const SUMMER: i64 = 1_720_110_645;

    fn tool_at(second: i64, zones: TimeZoneDatabase) -> CurrentTime {
        let clock = FixedClock(Timestamp::from_second(second).unwrap());
        CurrentTime::with_clock(Arc::new(clock)).with_database(zones)
    }

    fn call(tool: &CurrentTime, args: Value) -> Value {
        tool.call(&args).unwrap()
    }

    #[test]
    fn new_york_winter_and_summer() {
        for zones in [TimeZoneDatabase::bundled(), jiff::tz::db().clone()] {
            let winter = call(
                &tool_at(WINTER, zones.clone()),
                json!({"timezone": "America/New_York"}),
            );
            assert_eq!(
                winter,
                json!({
                    "timezone": "America/New_York",
                    "iso8601": "2024-01-15T07:00:00-05:00",
                    "unix": WINTER,
                    "weekday": "Monday",
                    "utc_offset": "-05:00",
                    "abbreviation": "EST",
                    "dst": false,
                })
            );
            let summer = call(
                &tool_at(SUMMER, zones),
                json!({"timezone": "America/New_York"}),
            );
            assert_eq!(summer["iso8601"], "2024-07-04T12:30:45-04:00");
            assert_eq!(summer["utc_offset"], "-04:00");
            assert_eq!(summer["weekday"], "Thursday");
            assert_eq!(summer["abbreviation"], "EDT");
            assert_eq!(summer["dst"], true);
        }
    }

    #[test]
    fn kolkata_has_a_half_hour_offset_all_year() {
        let tool = tool_at(WINTER, TimeZoneDatabase::bundled());
        let out = call(&tool, json!({"timezone": "Asia/Kolkata"}));
        assert_eq!(out["iso8601"], "2024-01-15T17:30:00+05:30");
        assert_eq!(out["utc_offset"], "+05:30");
        let tool = tool_at(SUMMER, TimeZoneDatabase::bundled());
        let out = call(&tool, json!({"timezone": "Asia/Kolkata"}));
        assert_eq!(out["iso8601"], "2024-07-04T22:00:45+05:30");
    }

    #[test]
    fn date_line_changes_the_weekday() {
        let tool = tool_at(WINTER, TimeZoneDatabase::bundled());
        let out = call(&tool, json!({"timezone": "Pacific/Kiritimati"}));
        assert_eq!(out["iso8601"], "2024-01-16T02:00:00+14:00");
        assert_eq!(out["weekday"], "Tuesday");
    }

    #[test]
    fn utc_is_the_default() {
        let tool = tool_at(SUMMER, TimeZoneDatabase::bundled());
        for args in [
            json!({}),
            json!({"timezone": null}),
            json!({"timezone": "  "}),
            json!({"timezone": "UTC"}),
        ] {
            let out = call(&tool, args);
            assert_eq!(out["timezone"], "UTC");
            assert_eq!(out["iso8601"], "2024-07-04T16:30:45+00:00");
            assert_eq!(out["utc_offset"], "+00:00");
        }
    }

    #[test]
    fn sub_second_time_is_cut_to_whole_seconds() {
        let ts = Timestamp::new(WINTER, 999_999_999).unwrap();
        let tool = CurrentTime::with_clock(Arc::new(FixedClock(ts)))
            .with_database(TimeZoneDatabase::bundled());
        let out = call(&tool, json!({}));
        assert_eq!(out["iso8601"], "2024-01-15T12:00:00+00:00");
        assert_eq!(out["unix"], WINTER);
    }

    #[test]
    fn near_miss_names_are_understood() {
        let tool = tool_at(WINTER, TimeZoneDatabase::bundled());
        let out = call(&tool, json!({"timezone": "america/new york"}));
        assert_eq!(out["timezone"], "America/New_York");
    }

    #[test]
    fn unknown_zone_explains_the_fix() {
        let tool = tool_at(WINTER, TimeZoneDatabase::bundled());
        let err = tool
            .call(&json!({"timezone": "Mars/Olympus_Mons"}))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown time zone `Mars/Olympus_Mons`"),
            "{err}"
        );
        assert!(err.contains("\"America/New_York\""), "{err}");
        assert!(!err.contains("Did you mean"), "{err}");

        let err = tool
            .call(&json!({"timezone": "Kolkata"}))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("Did you mean Asia/Kolkata?"), "{err}");
    }

    #[test]
    fn bundled_copy_backs_up_an_empty_database() {
        let tool = tool_at(WINTER, TimeZoneDatabase::none());
        let out = call(&tool, json!({"timezone": "Asia/Kolkata"}));
        assert_eq!(out["utc_offset"], "+05:30");
    }

    #[test]
    fn wrong_argument_type_is_an_error() {
        let tool = tool_at(WINTER, TimeZoneDatabase::bundled());
        assert!(tool.call(&json!({"timezone": 5})).is_err());
    }

    #[test]
    fn real_clock_gives_a_plausible_answer() {
        let out = CurrentTime::new().call(&json!({})).unwrap();
        assert!(out["unix"].as_i64().unwrap() > 1_700_000_000);
        assert!(out["iso8601"].as_str().unwrap().ends_with("+00:00"));
    }
}
