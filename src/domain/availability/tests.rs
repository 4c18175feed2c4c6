use super::*;

fn tz(name: &str) -> TimeZone {
    timezone(name).unwrap()
}

/// Epoch ms of a local wall-clock time in `zone`.
fn at(local: &str, zone: &str) -> i64 {
    let dt: jiff::civil::DateTime = local.parse().unwrap();
    dt.to_zoned_datetime(tz(zone))
        .unwrap()
        .timestamp()
        .as_millisecond()
}

fn hours(day: Day, start: &str, end: &str) -> Hours {
    Hours {
        day,
        start: Minute::parse(start).unwrap(),
        end: Minute::parse(end).unwrap(),
    }
}

fn weekdays(zone: &str, start: &str, end: &str) -> Availability {
    let mut a = Availability::always(tz(zone));
    a.working_hours = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri]
        .into_iter()
        .map(|d| hours(d, start, end))
        .collect();
    a
}

const H: i64 = 60 * 60 * 1000;

#[test]
fn working_hours_are_the_members_own_local_time() {
    let a = weekdays("Europe/Berlin", "09:00", "17:00");
    // 2026-12-04 is a Friday.
    assert_eq!(
        a.unavailable(at("2026-12-04T09:00", "Europe/Berlin"), 0, true),
        None
    );
    assert_eq!(
        a.unavailable(at("2026-12-04T16:59", "Europe/Berlin"), 0, true),
        None
    );
    let evening = at("2026-12-04T17:00", "Europe/Berlin");
    let why = a.unavailable(evening, 0, true).unwrap();
    assert_eq!(
        why,
        Unavailable::OffHours {
            until: Some(at("2026-12-07T09:00", "Europe/Berlin"))
        }
    );
    assert_eq!(a.explain(why), "off until Mon 09:00 Europe/Berlin");
    // The rotation's switch off: hours do not count.
    assert_eq!(a.unavailable(evening, 0, false), None);
    // No hours set: always working.
    let always = Availability::always(tz("Asia/Tokyo"));
    assert_eq!(always.unavailable(evening, 0, true), None);
}

#[test]
fn a_working_day_is_eight_hours_on_both_sides_of_a_daylight_saving_change() {
    // Berlin leaves summer time on Sun 2026-10-25; New York on Sun 2026-11-01, and
    // enters it on Sun 2026-03-08.
    for (zone, monday) in [
        ("Europe/Berlin", "2026-10-19"),
        ("Europe/Berlin", "2026-10-26"),
        ("America/New_York", "2026-10-26"),
        ("America/New_York", "2026-03-02"),
    ] {
        let a = weekdays(zone, "09:00", "17:00");
        let from = at(&format!("{monday}T00:00"), zone);
        let to = from + 14 * 24 * H;
        let planned = a.planned(from, to);
        assert_eq!(planned.len(), 10, "{zone} {monday}: {planned:?}");
        assert!(
            planned.iter().all(|(s, e)| e - s == 8 * H),
            "{zone} {monday}"
        );
    }
    // The UTC hour of 09:00 moves with the change.
    let before = at("2026-10-23T09:00", "Europe/Berlin");
    let after = at("2026-10-26T09:00", "Europe/Berlin");
    assert_eq!((before / H) % 24, 7);
    assert_eq!((after / H) % 24, 8);
}

#[test]
fn a_shift_past_midnight_belongs_to_the_day_it_starts() {
    let mut a = Availability::always(tz("Europe/London"));
    a.working_hours = vec![hours(Day::Fri, "22:00", "06:00")];
    assert_eq!(
        a.unavailable(at("2026-12-04T23:00", "Europe/London"), 0, true),
        None
    );
    assert_eq!(
        a.unavailable(at("2026-12-05T05:59", "Europe/London"), 0, true),
        None
    );
    assert_eq!(
        a.unavailable(at("2026-12-05T06:00", "Europe/London"), 0, true),
        Some(Unavailable::OffHours {
            until: Some(at("2026-12-11T22:00", "Europe/London"))
        })
    );
    // Thursday night is not Friday's shift.
    assert!(
        a.unavailable(at("2026-12-04T03:00", "Europe/London"), 0, true)
            .is_some()
    );
}

#[test]
fn away_time_off_and_caps_in_that_order() {
    let now = at("2026-12-04T10:00", "Europe/Berlin");
    let mut a = weekdays("Europe/Berlin", "09:00", "17:00");
    a.daily_cap = Some(5);
    assert_eq!(a.unavailable(now, 4, true), None);
    assert_eq!(a.unavailable(now, 5, true), Some(Unavailable::Capped));
    assert_eq!(a.explain(Unavailable::Capped), "reached the daily cap of 5");
    // Two time offs back to back read as one.
    a.time_off = vec![
        TimeOff {
            id: "a".into(),
            starts_at: now - H,
            ends_at: now + H,
            reason: None,
        },
        TimeOff {
            id: "b".into(),
            starts_at: now + H,
            ends_at: now + 50 * H,
            reason: None,
        },
    ];
    let why = a.unavailable(now, 0, true).unwrap();
    assert_eq!(
        why,
        Unavailable::TimeOff {
            until: now + 50 * H
        }
    );
    assert_eq!(a.explain(why), "on time off until Sun 12:00 Europe/Berlin");
    a.away = true;
    assert_eq!(a.unavailable(now, 0, true), Some(Unavailable::Away));
    // A cap of 0 takes no routed leads at all.
    let mut zero = Availability::always(tz("UTC"));
    zero.daily_cap = Some(0);
    assert_eq!(zero.unavailable(now, 0, true), Some(Unavailable::Capped));
}

#[test]
fn the_caps_day_starts_at_local_midnight() {
    let a = Availability::always(tz("Europe/Berlin"));
    assert_eq!(a.day_key(at("2026-12-04T23:59", "Europe/Berlin")), 20261204);
    assert_eq!(a.day_key(at("2026-12-05T00:00", "Europe/Berlin")), 20261205);
    let ny = Availability::always(tz("America/New_York"));
    // 03:00 UTC on the 5th is still the 4th in New York.
    assert_eq!(ny.day_key(at("2026-12-05T03:00", "UTC")), 20261204);
}

#[test]
fn bad_hours_name_the_range_and_field() {
    let input = |day: &str, start: &str, end: &str| HoursInput {
        day: day.into(),
        start: start.into(),
        end: end.into(),
    };
    let mut errors = FieldErrors::default();
    let read = read_hours(
        &[
            input("mon", "09:00", "17:00"),
            input("mon", "16:00", "18:00"),
            input("tue", "09:00", "09:00"),
            input("someday", "25:00", "9"),
            input("wed", "22:00", "02:00"),
            input("wed", "23:00", "23:30"),
        ],
        &mut errors,
    );
    assert_eq!(read.len(), 2);
    let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "working_hours[1].start",
            "working_hours[2].end",
            "working_hours[3].day",
            "working_hours[3].end",
            "working_hours[3].start",
            "working_hours[5].start",
        ]
    );
    assert!(timezone("Mars/Olympus").is_err());
    assert!(timezone("Europe/Berlin").is_ok());
    let mut errors = FieldErrors::default();
    check_time_off(10, 10, &mut errors);
    check_cap(Some(10_001), &mut errors);
    assert_eq!(errors.0.len(), 2);
    let mut errors = FieldErrors::default();
    check_time_off(0, TIME_OFF_MAX_MS + 1, &mut errors);
    check_cap(Some(0), &mut errors);
    assert_eq!(errors.0.keys().collect::<Vec<_>>(), ["ends_at"]);
}

#[test]
fn gaps_are_what_nobody_covers() {
    let covered = vec![vec![(10, 20), (40, 50)], vec![(15, 30)]];
    assert_eq!(gaps(&covered, 0, 60), [(0, 10), (30, 40), (50, 60)]);
    assert_eq!(gaps(&[vec![(0, 60)]], 0, 60), []);
    assert_eq!(gaps(&[], 0, 60), [(0, 60)]);
}
