// Package clitest builds the ecsaudit binary for tests and runs it the way
// an operator would: a real process, static like the shipped one, with a
// clean environment.
package clitest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once   sync.Once
	dir    string
	binary string
	built  error
)

// Binary builds github.com/ecsaudit/ecsaudit/cmd/ecsaudit once per test
// process (CGO_ENABLED=0, as shipped; with the race detector when the tests
// run under it) and returns its path. Call Main from the package's TestMain
// to remove it afterwards.
func Binary(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, built = os.MkdirTemp("", "ecsaudit-bin")
		if built != nil {
			return
		}
		binary = filepath.Join(dir, "ecsaudit")
		args, cgo := []string{"build", "-o", binary}, "CGO_ENABLED=0"
		if race {
			// The race detector needs cgo; .ci/run builds the static one.
			args, cgo = append(args, "-race"), "CGO_ENABLED=1"
		}
		cmd := exec.Command("go", append(args, "github.com/ecsaudit/ecsaudit/cmd/ecsaudit")...)
		cmd.Env = append(os.Environ(), cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			built = errors.New("build ecsaudit: " + err.Error() + "\n" + string(out))
		}
	})
	if built != nil {
		t.Fatal(built)
	}
	return binary
}

// Main runs the package's tests and removes the binary Binary built.
func Main(m *testing.M) int {
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	return code
}

// Race reports whether Binary builds the binary with the race detector:
// its stderr then says "DATA RACE" for every race it saw, and it exits 66.
func Race() bool { return race }

// Env returns a clean environment for the binary: PATH, home as HOME, no
// shared AWS configuration files, no instance metadata, region us-east-1,
// then extra ("NAME=value").
func Env(home string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION=us-east-1",
	}, extra...)
}

// ExitCode returns the exit code of a finished command from its Run or
// Wait error, failing t when the process could not run at all.
func ExitCode(t testing.TB, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}
