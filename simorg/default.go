package simorg

import _ "embed"

// PlantedSecret is a secret-looking value planted in the environment and
// secrets of some containers of the Default organization. Nothing ecsaudit
// writes may contain it.
const PlantedSecret = "sim0rg-PLANTED-s3cr3t-9f2c71d4"

//go:embed default.json
var defaultFixture []byte

// Default returns the demo organization: six accounts in a nested OU tree
// (Root → Security, Workloads → Prod and Dev, Sandbox), three enabled
// regions and one not opted in, an account whose role cannot be assumed,
// a region a service control policy denies, a suspended account, and about
// forty revisions covering every case of the rule, each container annotated
// with its expected verdict.
func Default() *Org {
	org, err := Parse(defaultFixture)
	if err != nil {
		panic("simorg: the embedded default fixture is invalid: " + err.Error())
	}
	return org
}

// DefaultFixture returns the JSON of the Default organization, a starting
// point for fixtures of one's own.
func DefaultFixture() []byte { return append([]byte(nil), defaultFixture...) }
