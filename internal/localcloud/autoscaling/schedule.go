package autoscaling

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is a parsed Schedule of a scheduled action.
type schedule interface {
	// next returns the first run strictly after t, or false when there is
	// none (an at() that has passed).
	next(t time.Time) (time.Time, bool)
}

// atSchedule runs once, at a wall time of its zone.
type atSchedule struct{ at time.Time }

func (a atSchedule) next(t time.Time) (time.Time, bool) { return a.at, a.at.After(t) }

// rateSchedule runs every every from its anchor (StartTime, or the time the
// action was put).
type rateSchedule struct {
	anchor time.Time
	every  time.Duration
}

func (r rateSchedule) next(t time.Time) (time.Time, bool) {
	if t.Before(r.anchor) {
		return r.anchor.Add(r.every), true
	}
	n := t.Sub(r.anchor)/r.every + 1
	return r.anchor.Add(n * r.every), true
}

// cronSchedule is the six-field cron of AWS: minutes, hours, day of month,
// month, day of week (1 = Sunday) and year, read in its zone.
type cronSchedule struct {
	loc                                *time.Location
	minutes, hours, doms, months, dows []bool
	years                              []bool // index year-1970
	domAny, dowAny                     bool
}

// parseSchedule reads at(…), rate(…) or cron(…) in the named zone (UTC when
// empty); anchor is where a rate counts from.
func parseSchedule(expr, zone string, anchor time.Time) (schedule, error) {
	loc := time.UTC
	if zone != "" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			return nil, fmt.Errorf("timezone %q: %w", zone, err)
		}
		loc = l
	}
	body, ok := strings.CutSuffix(expr, ")")
	if !ok {
		return nil, fmt.Errorf("schedule %q does not end with ')'", expr)
	}
	switch {
	case strings.HasPrefix(body, "at("):
		at, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimPrefix(body, "at("), loc)
		if err != nil {
			return nil, fmt.Errorf("at(): %w", err)
		}
		return atSchedule{at}, nil
	case strings.HasPrefix(body, "rate("):
		f := strings.Fields(strings.TrimPrefix(body, "rate("))
		if len(f) != 2 {
			return nil, fmt.Errorf("rate() is rate(value unit)")
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("rate() value %q is not a positive integer", f[0])
		}
		unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour,
			"hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
		if unit == 0 || (n == 1) != !strings.HasSuffix(f[1], "s") {
			return nil, fmt.Errorf("rate() unit %q does not fit value %d", f[1], n)
		}
		return rateSchedule{anchor: anchor, every: time.Duration(n) * unit}, nil
	case strings.HasPrefix(body, "cron("):
		return parseCron(strings.TrimPrefix(body, "cron("), loc)
	}
	return nil, fmt.Errorf("schedule %q is not at(), rate() or cron()", expr)
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

func parseCron(body string, loc *time.Location) (*cronSchedule, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron() has %d fields, want 6 (minutes hours day-of-month month day-of-week year)", len(f))
	}
	c := &cronSchedule{loc: loc, domAny: f[2] == "?", dowAny: f[4] == "?"}
	if c.domAny == c.dowAny {
		return nil, fmt.Errorf("cron(): exactly one of day-of-month and day-of-week must be '?'")
	}
	var err error
	fields := []struct {
		dst    *[]bool
		text   string
		lo, hi int
		names  []string
		what   string
	}{
		{&c.minutes, f[0], 0, 59, nil, "minutes"},
		{&c.hours, f[1], 0, 23, nil, "hours"},
		{&c.doms, f[2], 1, 31, nil, "day-of-month"},
		{&c.months, f[3], 1, 12, monthNames, "month"},
		{&c.dows, f[4], 1, 7, dayNames, "day-of-week"},
		{&c.years, f[5], 1970, 2199, nil, "year"},
	}
	for _, fd := range fields {
		if *fd.dst, err = cronField(fd.text, fd.lo, fd.hi, fd.names); err != nil {
			return nil, fmt.Errorf("cron() %s: %w", fd.what, err)
		}
	}
	return c, nil
}

// cronField returns the set of values (indexed from lo) a field selects:
// *, ?, a value, a range a-b, a step x/n, and lists of these. L, W and #
// are not modelled yet and are refused by name.
func cronField(text string, lo, hi int, names []string) ([]bool, error) {
	set := make([]bool, hi-lo+1)
	if text == "*" || text == "?" {
		for i := range set {
			set[i] = true
		}
		return set, nil
	}
	if strings.ContainsAny(text, "LW#") && names == nil || strings.Contains(text, "#") {
		return nil, fmt.Errorf("%q: L, W and # are not modelled by the local endpoint yet", text)
	}
	value := func(s string) (int, error) {
		for i, n := range names {
			if strings.EqualFold(s, n) {
				return lo + i, nil
			}
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < lo || v > hi {
			return 0, fmt.Errorf("%q is not a value in %d-%d", s, lo, hi)
		}
		return v, nil
	}
	for _, part := range strings.Split(text, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("step %q is not a positive integer", stepText)
			}
			step = n
		}
		first, last := lo, hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if first, err = value(a); err != nil {
				return nil, err
			}
			last = first
			if isRange {
				if last, err = value(b); err != nil {
					return nil, err
				}
			} else if hasStep {
				last = hi
			}
			if last < first {
				return nil, fmt.Errorf("range %q runs backwards", rng)
			}
		}
		for v := first; v <= last; v += step {
			set[v-lo] = true
		}
	}
	return set, nil
}

// next scans the days after t (in the schedule's zone) for the first
// matching minute; it gives up after the last year cron accepts.
func (c *cronSchedule) next(t time.Time) (time.Time, bool) {
	t = t.In(c.loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.loc)
	for ; day.Year() <= 2199; day = day.AddDate(0, 0, 1) {
		if day.Year() < 1970 || !c.years[day.Year()-1970] || !c.months[int(day.Month())-1] ||
			(!c.domAny && !c.doms[day.Day()-1]) || (!c.dowAny && !c.dows[int(day.Weekday())]) {
			continue
		}
		for h := range 24 {
			if !c.hours[h] {
				continue
			}
			for m := range 60 {
				if !c.minutes[m] {
					continue
				}
				at := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, c.loc)
				if at.After(t) {
					return at, true
				}
			}
		}
	}
	return time.Time{}, false
}
