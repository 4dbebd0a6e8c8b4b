package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/internal/clitest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// TestScanOverTLS: AWS is reachable only over TLS. Against a simulator
// serving HTTPS with a certificate of its own, the binary scans the whole
// organization when the SDK's standard CA bundle setting (AWS_CA_BUNDLE)
// trusts that certificate, and refuses to talk to it when nothing does:
// the organization cannot be listed, the run fails, and the error says
// why.
func TestScanOverTLS(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{TLS: true})
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s", srv.URL())
	}
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, srv.CABundle(), 0o600); err != nil {
		t.Fatal(err)
	}

	res := runScan(t, srv, []string{"AWS_CA_BUNDLE=" + bundle})
	wantExit(t, res, exitOK)
	checkRun(t, res, expectation{org: org})

	untrusted := runScan(t, srv, nil, "--max-attempts", "2")
	wantExit(t, untrusted, exitFatal)
	if !strings.Contains(untrusted.stderr, "certificate") {
		t.Errorf("an untrusted certificate failed the run without saying so:\n%s", untrusted.stderr)
	}
}

// TestSimOverTLS follows the README: `ecsaudit sim --tls` prints the
// environment that points the SDK at it, the CA bundle included, and a
// scan with exactly that environment reaches the demo organization.
func TestSimOverTLS(t *testing.T) {
	t.Parallel()
	sim := exec.Command(clitest.Binary(t), "sim", "--tls")
	sim.Env = clitest.Env(t.TempDir())
	stdout, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Process.Kill(); sim.Wait() })
	var env []string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "export "); ok {
			env = strings.Fields(rest)
			break
		}
	}
	var bundle string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AWS_CA_BUNDLE="); ok {
			bundle = v
		}
	}
	if pem, err := os.ReadFile(bundle); err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("sim --tls printed %q; its CA bundle: %v", env, err)
	}
	scan := exec.Command(clitest.Binary(t), "scan", "--output", filepath.Join(t.TempDir(), "findings"))
	scan.Env = clitest.Env(t.TempDir(), env...)
	out, err := scan.CombinedOutput()
	if code := clitest.ExitCode(t, err); code != exitPartial || !strings.Contains(string(out), "targets 16: scanned 11") {
		t.Fatalf("scan over the sim's TLS: exit %d\n%s", code, out)
	}
}
