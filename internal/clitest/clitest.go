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
// process (CGO_ENABLED=0, as shipped) and returns its path. Call Main from
// the package's TestMain to remove it afterwards.
func Binary(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, built = os.MkdirTemp("", "ecsaudit-bin")
		if built != nil {
			return
		}
		binary = filepath.Join(dir, "ecsaudit")
		cmd := exec.Command("go", "build", "-o", binary, "github.com/ecsaudit/ecsaudit/cmd/ecsaudit")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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
