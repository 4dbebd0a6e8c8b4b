//go:build race

package clitest

// race is true when the tests run under the race detector: the binary is
// then built with it too, so that a data race in the real process, with
// several targets in flight, faults and signals, fails the test.
const race = true
