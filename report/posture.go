package report

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// The posture's settings, as infra/athena/views.sql's ecsaudit_settings
// has them.
const (
	postureRuleOptions = "control,host-access=1"
	postureRevisions   = "active"
	staleAfterDays     = 3
	historyDays        = 400
)

// Target states, as ecsaudit_posture_history names them.
const (
	StateNotScanned = "NOT_SCANNED"
	StateStale      = "STALE"
	StateEmpty      = "EMPTY"
)

// Results of the rule, in the order of how much they weigh.
const (
	Fail          = "FAIL"
	Error         = "ERROR"
	Pass          = "PASS"
	NotApplicable = "NOT_APPLICABLE"
)

// weight orders results as ecsaudit_run_verdicts does: FAIL > ERROR > PASS
// > NOT_APPLICABLE; anything else weighs nothing.
func weight(result string) uint8 {
	switch result {
	case Fail:
		return 4
	case Error:
		return 3
	case Pass:
		return 2
	case NotApplicable:
		return 1
	}
	return 0
}

var byWeight = [...]string{"", NotApplicable, Pass, Error, Fail}

// scanKey names one target's scan: the run and the target.
type scanKey struct{ run, account, region string }

// tally counts one scan's task definitions by verdict.
type tally struct {
	taskDefinitions, fail, pass, notApplicable, errors int64
}

// count adds one task definition of verdict v.
func (t *tally) count(v string) {
	t.taskDefinitions++
	switch v {
	case Fail:
		t.fail++
	case Error:
		t.errors++
	case Pass:
		t.pass++
	case NotApplicable:
		t.notApplicable++
	}
}

func (t tally) verdict() string {
	switch {
	case t.fail > 0:
		return Fail
	case t.errors > 0:
		return Error
	case t.pass > 0:
		return Pass
	case t.notApplicable > 0:
		return NotApplicable
	}
	return StateEmpty
}

// orgAccount is one account of the organization on a day.
type orgAccount struct {
	id, name, ouPath, ouNames string
}

// target is one row of ecsaudit_posture_history: a target's state on a day.
type target struct {
	account orgAccount
	region  string
	state   string
	scan    *scanKey // nil: never scanned
	scanDT  string
	age     int
}

// event is a posture run's coverage row that scanned or skipped a target;
// it holds from its dt until the target's next event.
type event struct {
	run     *run
	status  string
	untilDT string // "" while it is the newest
}

// posture computes the views' posture over a set of complete runs.
type posture struct {
	runs       []*run // complete runs, by start time
	events     map[[2]string][]event
	firstTried map[[2]string]string // (account, region) → first dt a posture run tried it
}

func newPosture(runs []*run) *posture {
	p := &posture{runs: runs, events: map[[2]string][]event{}, firstTried: map[[2]string]string{}}
	for _, r := range runs { // by start time, then id: the events' order
		if !r.posture {
			continue
		}
		for _, c := range r.coverage {
			if c.Region == "" {
				continue
			}
			k := [2]string{c.AccountID, c.Region}
			if d, ok := p.firstTried[k]; !ok || r.dt < d {
				p.firstTried[k] = r.dt
			}
			if c.Status != "scanned" && c.Status != "skipped" {
				continue
			}
			evs := p.events[k]
			if n := len(evs); n > 0 {
				evs[n-1].untilDT = r.dt
			}
			p.events[k] = append(evs, event{run: r, status: c.Status})
		}
	}
	return p
}

// days returns the posture days up to today: the dt of every complete run
// in the last historyDays days, and today.
func (p *posture) days(today string) []string {
	t := mustDay(today)
	var ds []string
	for _, r := range p.runs {
		if int(t.Sub(mustDay(r.dt)).Hours()/24) <= historyDays {
			ds = append(ds, r.dt)
		}
	}
	ds = append(ds, today)
	slices.Sort(ds)
	return slices.Compact(ds)
}

// organization returns the accounts of day d, as ecsaudit_organization:
// those the newest complete run up to d listed, less those whose newest
// news (from a run that did not exclude them) is that they are inactive.
func (p *posture) organization(d string) []orgAccount {
	var listing *run
	for _, r := range p.runs {
		if r.dt <= d && (listing == nil || r.started.After(listing.started)) {
			listing = r
		}
	}
	if listing == nil {
		return nil
	}
	type state struct {
		at       time.Time
		inactive bool
	}
	known := map[string]state{}
	for _, r := range p.runs {
		if r.dt > d {
			continue
		}
		seen := map[string]bool{}
		for _, c := range r.coverage {
			if c.ErrorCode == "Excluded" {
				continue
			}
			inactive := c.Status == "skipped" && (c.ErrorCode == "AccountSuspended" || c.ErrorCode == "AccountPendingClosure" || c.ErrorCode == "AccountClosed")
			if s, ok := known[c.AccountID]; ok && s.at.After(r.started) {
				continue
			}
			if seen[c.AccountID] {
				inactive = inactive || known[c.AccountID].inactive
			}
			seen[c.AccountID] = true
			known[c.AccountID] = state{at: r.started, inactive: inactive}
		}
	}
	accts := map[string]*orgAccount{}
	for _, c := range listing.coverage {
		if known[c.AccountID].inactive {
			continue
		}
		a := accts[c.AccountID]
		if a == nil {
			a = &orgAccount{id: c.AccountID}
			accts[c.AccountID] = a
		}
		a.name, a.ouPath, a.ouNames = max(a.name, c.AccountName), max(a.ouPath, c.OUPath), max(a.ouNames, c.OUNames)
	}
	out := make([]orgAccount, 0, len(accts))
	for _, a := range accts {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b orgAccount) int { return strings.Compare(a.id, b.id) })
	return out
}

// targets returns the posture of day d, one row per target, as
// ecsaudit_posture_history; verdict gives a scan's worst verdict.
func (p *posture) targets(d string, verdict func(scanKey) string) []target {
	regions := map[string][]string{}
	for k, first := range p.firstTried {
		if first <= d {
			regions[k[0]] = append(regions[k[0]], k[1])
		}
	}
	var out []target
	for _, a := range p.organization(d) {
		rs := regions[a.id]
		slices.Sort(rs)
		for _, region := range rs {
			var holds []event
			for _, e := range p.events[[2]string{a.id, region}] {
				if e.run.dt <= d && (e.untilDT == "" || d < e.untilDT) {
					holds = append(holds, e)
				}
			}
			if len(holds) == 0 {
				out = append(out, target{account: a, region: region, state: StateNotScanned})
				continue
			}
			for _, e := range holds {
				if e.status != "scanned" {
					continue // a skip ends the target
				}
				k := scanKey{e.run.id, a.id, region}
				t := target{account: a, region: region, scan: &k, scanDT: e.run.dt, age: daysBetween(e.run.dt, d)}
				t.state = verdict(k)
				if t.age > staleAfterDays {
					t.state = StateStale
				}
				out = append(out, t)
			}
		}
	}
	return out
}

// gap is one row of ecsaudit_coverage_gaps.
type gap struct {
	account       orgAccount
	region        string
	kind          string // stale, never_scanned, last_attempt, account
	state         string
	scanDT        string
	attemptDT     string
	attemptRunID  string
	attemptStatus string
	errorCode     string
	errorMessage  string
}

// gaps returns what the posture of today cannot vouch for, as
// ecsaudit_coverage_gaps.
func (p *posture) gaps(today string, targets []target) []gap {
	type newest struct {
		r *run
		c coverageRow
	}
	byTarget := map[[2]string]newest{}
	byAccount := map[string]newest{}
	for _, r := range p.runs {
		if !r.posture {
			continue
		}
		for _, c := range r.coverage {
			k := [2]string{c.AccountID, c.Region}
			if n, ok := byTarget[k]; !ok || laterRun(r, n.r) {
				byTarget[k] = newest{r, c}
			}
			if c.ErrorCode == "Excluded" {
				continue
			}
			if n, ok := byAccount[c.AccountID]; !ok || laterRun(r, n.r) || (n.r == r && c.Region < n.c.Region) {
				byAccount[c.AccountID] = newest{r, c}
			}
		}
	}
	var out []gap
	for _, t := range targets {
		n, ok := byTarget[[2]string{t.account.id, t.region}]
		if !ok || !(t.state == StateStale || t.state == StateNotScanned || n.c.Status != "scanned") {
			continue
		}
		kind := "last_attempt"
		switch t.state {
		case StateStale:
			kind = "stale"
		case StateNotScanned:
			kind = "never_scanned"
		}
		out = append(out, gap{account: t.account, region: t.region, kind: kind, state: t.state, scanDT: t.scanDT,
			attemptDT: n.r.dt, attemptRunID: n.r.id, attemptStatus: n.c.Status, errorCode: n.c.ErrorCode, errorMessage: n.c.ErrorMessage})
	}
	for _, a := range p.organization(today) {
		n, ok := byAccount[a.id]
		switch {
		case !ok:
			out = append(out, gap{account: a, kind: "account", attemptStatus: "never_tried"})
		case n.c.Region == "" && n.c.Status != "skipped":
			out = append(out, gap{account: a, kind: "account", attemptDT: n.r.dt, attemptRunID: n.r.id,
				attemptStatus: n.c.Status, errorCode: n.c.ErrorCode, errorMessage: n.c.ErrorMessage})
		}
	}
	slices.SortFunc(out, func(a, b gap) int {
		return cmp.Or(strings.Compare(a.account.id, b.account.id), strings.Compare(a.region, b.region), strings.Compare(a.kind, b.kind))
	})
	return out
}

// laterRun orders runs newest first as the views' row_number does.
func laterRun(a, b *run) bool {
	if c := a.started.Compare(b.started); c != 0 {
		return c > 0
	}
	return a.id > b.id
}

func mustDay(d string) time.Time {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return time.Time{}
	}
	return t
}

func daysBetween(from, to string) int {
	return int(mustDay(to).Sub(mustDay(from)).Hours() / 24)
}
