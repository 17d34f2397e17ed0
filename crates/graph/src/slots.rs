//! Free-slot arithmetic, independent of Graph.

use chrono::{NaiveDateTime, TimeDelta};

/// The free intervals of `[window_start, window_end)` that are at least `min_duration` long,
/// given everyone's busy intervals (in one time zone, any order, overlapping or not, partly
/// or wholly outside the window). Busy intervals are half-open: a meeting ending at 10:00
/// leaves 10:00 free. Slots are maximal and in order; an empty or inverted window has none.
pub fn free_slots(
    window_start: NaiveDateTime,
    window_end: NaiveDateTime,
    busy: &[(NaiveDateTime, NaiveDateTime)],
    min_duration: TimeDelta,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let min_duration = min_duration.max(TimeDelta::zero());
    let mut clipped: Vec<(NaiveDateTime, NaiveDateTime)> =
        busy.iter().map(|&(s, e)| (s.max(window_start), e.min(window_end))).filter(|(s, e)| s < e).collect();
    clipped.sort();
    let mut slots = Vec::new();
    let mut cursor = window_start;
    let mut push = |from: NaiveDateTime, to: NaiveDateTime| {
        if from < to && to - from >= min_duration {
            slots.push((from, to));
        }
    };
    for (s, e) in clipped {
        if s > cursor {
            push(cursor, s);
        }
        cursor = cursor.max(e);
    }
    push(cursor, window_end);
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hm: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(&format!("2026-03-02 {hm}"), "%Y-%m-%d %H:%M").unwrap()
    }

    fn mins(m: i64) -> TimeDelta {
        TimeDelta::minutes(m)
    }

    #[test]
    fn nothing_busy_is_the_whole_window() {
        assert_eq!(free_slots(t("09:00"), t("17:00"), &[], mins(30)), vec![(t("09:00"), t("17:00"))]);
    }

    #[test]
    fn gaps_between_blocks() {
        let busy = [(t("10:00"), t("11:00")), (t("13:00"), t("14:00"))];
        assert_eq!(
            free_slots(t("09:00"), t("17:00"), &busy, mins(30)),
            vec![(t("09:00"), t("10:00")), (t("11:00"), t("13:00")), (t("14:00"), t("17:00"))]
        );
    }

    #[test]
    fn overlapping_nested_and_unsorted_blocks_merge() {
        // Two people: 10:00-11:30 and 11:00-12:00 overlap; 10:15-10:45 is nested; unsorted input.
        let busy = [(t("11:00"), t("12:00")), (t("10:00"), t("11:30")), (t("10:15"), t("10:45"))];
        assert_eq!(
            free_slots(t("09:00"), t("13:00"), &busy, mins(30)),
            vec![(t("09:00"), t("10:00")), (t("12:00"), t("13:00"))]
        );
    }

    #[test]
    fn back_to_back_blocks_leave_no_gap() {
        let busy = [(t("10:00"), t("11:00")), (t("11:00"), t("12:00"))];
        assert_eq!(free_slots(t("10:00"), t("12:00"), &busy, mins(1)), vec![]);
    }

    #[test]
    fn blocks_crossing_or_outside_the_window_edges() {
        let busy = [
            (t("07:00"), t("09:30")), // starts before the window
            (t("16:30"), t("19:00")), // ends after it
            (t("05:00"), t("06:00")), // entirely before
            (t("18:00"), t("20:00")), // entirely after
        ];
        assert_eq!(free_slots(t("09:00"), t("17:00"), &busy, mins(30)), vec![(t("09:30"), t("16:30"))]);
        // A block covering the whole window leaves nothing.
        assert_eq!(free_slots(t("09:00"), t("17:00"), &[(t("08:00"), t("18:00"))], mins(1)), vec![]);
    }

    #[test]
    fn slots_shorter_than_the_duration_are_dropped_and_exact_fits_kept() {
        let busy = [(t("09:20"), t("10:00")), (t("10:30"), t("11:00"))];
        // 09:00-09:20 is 20 min (dropped); 10:00-10:30 is exactly 30 (kept); 11:00-12:00 kept.
        assert_eq!(
            free_slots(t("09:00"), t("12:00"), &busy, mins(30)),
            vec![(t("10:00"), t("10:30")), (t("11:00"), t("12:00"))]
        );
    }

    #[test]
    fn empty_inverted_or_zero_length_inputs() {
        assert_eq!(free_slots(t("10:00"), t("10:00"), &[], mins(0)), vec![]);
        assert_eq!(free_slots(t("12:00"), t("10:00"), &[], mins(0)), vec![]);
        // Zero-length and inverted busy blocks are ignored.
        let busy = [(t("10:00"), t("10:00")), (t("11:00"), t("10:30"))];
        assert_eq!(free_slots(t("09:00"), t("12:00"), &busy, mins(60)), vec![(t("09:00"), t("12:00"))]);
    }
}
