package accounts

import (
	"fmt"
	"regexp"
	"slices"
)

var (
	accountIDPattern = regexp.MustCompile(`^\d{12}$`)
	ouIDPattern      = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$`)
)

// Filter selects accounts by id and by OU. Empty include lists select all.
type Filter struct {
	Accounts        []string // only these account ids
	ExcludeAccounts []string
	OUs             []string // only accounts in these OUs (or roots) or anywhere below them
	ExcludeOUs      []string // no accounts in these OUs or below them
}

// Validate checks every id's form, so a typo is a usage error rather than an
// empty run.
func (f Filter) Validate() error {
	for _, id := range slices.Concat(f.Accounts, f.ExcludeAccounts) {
		if !accountIDPattern.MatchString(id) {
			return fmt.Errorf("account id %q: want 12 digits", id)
		}
	}
	for _, id := range slices.Concat(f.OUs, f.ExcludeOUs) {
		if !ouIDPattern.MatchString(id) {
			return fmt.Errorf("OU id %q: want ou-xxxx-xxxxxxxx or r-xxxx", id)
		}
	}
	return nil
}

// Reason returns why the filter leaves out an account placed at p, or ""
// when it selects it.
func (f Filter) Reason(id string, p Placement) string {
	switch {
	case len(f.Accounts) > 0 && !slices.Contains(f.Accounts, id):
		return "not in --accounts"
	case slices.Contains(f.ExcludeAccounts, id):
		return "in --exclude-accounts"
	case len(f.OUs) > 0 && !anyIn(p.IDs, f.OUs):
		return "not below --ou"
	case anyIn(p.IDs, f.ExcludeOUs):
		return "below --exclude-ou"
	}
	return ""
}

func anyIn(path, set []string) bool {
	for _, id := range path {
		if slices.Contains(set, id) {
			return true
		}
	}
	return false
}
