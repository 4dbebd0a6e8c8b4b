package simorg

// The verdicts a container's Expect can carry. The simulator holds no copy
// of the audit rule: every fixture container's Expect is written by hand,
// and generated containers take theirs from a hand-labelled table
// (generate.go), so tests that compare a scan with Expect check the rule
// against a reviewer's reading, not against itself.
const (
	ExpectPass          = "PASS"
	ExpectFail          = "FAIL"
	ExpectNotApplicable = "NOT_APPLICABLE"
	ExpectError         = "ERROR"
)
