//go:build !race

package clitest

// race is false when the tests run without the race detector.
const race = false
