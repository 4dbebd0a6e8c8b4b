package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/internal/clitest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// TestProgressDisplayInTmux runs the scan on a real terminal, a tmux pane
// of a private tmux server, and reads the screen: while the scan runs, the
// progress bar shows; at the end no fragment of it is left, every log line
// is whole (it begins with time=), and the summary follows.
func TestProgressDisplayInTmux(t *testing.T) {
	t.Parallel()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("tmux not found (Debian: apt-get install tmux): %v", err)
	}
	// Slow responses keep the bar on screen for seconds, with warnings
	// logged while it is drawn.
	srv, err := simorg.Start(simorg.Default(), simorg.Options{Latency: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, tc := range []struct {
		name    string
		args    []string
		env     []string
		wantBar bool
	}{
		{"simulate", []string{"--simulate"}, nil, false}, // over in a blink: the bar may never be drawn
		{"slow", nil, []string{"AWS_ENDPOINT_URL=" + srv.URL(), "AWS_ACCESS_KEY_ID=" + simorg.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + simorg.SecretAccessKey}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			sock := filepath.Join(dir, "tmux.sock")
			env := clitest.Env(dir, tc.env...)
			cmdline := "env -i"
			for _, e := range env {
				cmdline += " " + shellQuote(e)
			}
			cmdline += " TERM=xterm-256color " + shellQuote(clitest.Binary(t)) + " scan --output " + shellQuote(filepath.Join(dir, "out")) +
				" --log-format text " + strings.Join(tc.args, " ") + "; echo EXITED=$?; sleep 600"
			start := exec.Command(tmux, "-S", sock, "-f", "/dev/null", "new-session", "-d", "-x", "150", "-y", "60", cmdline)
			if out, err := start.CombinedOutput(); err != nil {
				t.Fatalf("tmux: %v\n%s", err, out)
			}
			t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })
			capture := func() string {
				out, err := exec.Command(tmux, "-S", sock, "capture-pane", "-p", "-J", "-S", "-", "-E", "-").Output()
				if err != nil {
					t.Fatalf("tmux capture-pane: %v", err)
				}
				return string(out)
			}
			sawBar := false
			deadline := time.Now().Add(3 * time.Minute)
			var screen string
			for {
				screen = capture()
				sawBar = sawBar || strings.Contains(screen, barPrefix)
				if strings.Contains(screen, "EXITED=") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the scan did not finish; screen:\n%s", screen)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if os.Getenv("ECSAUDIT_SHOW_SCREEN") != "" {
				t.Logf("final screen:\n%s", screen)
			}
			if tc.wantBar && !sawBar {
				t.Errorf("the progress bar never showed while the scan ran")
			}
			if !strings.Contains(screen, "EXITED=3") || !strings.Contains(screen, "ecsaudit run ") || !strings.Contains(screen, "worst failing task definitions") {
				t.Errorf("no exit 3 or no summary on the final screen:\n%s", screen)
			}
			for _, line := range strings.Split(screen, "\n") {
				if strings.Contains(line, barPrefix) || strings.Contains(line, "ETA ") || strings.Contains(line, "=>") {
					t.Errorf("a fragment of the bar is left on the screen: %q", line)
				}
				if strings.Contains(line, "level=") && !strings.HasPrefix(line, "time=") {
					t.Errorf("a log line does not begin its line: %q", line)
				}
				if strings.Contains(line, "\x1b") {
					t.Errorf("an escape sequence is left in the text: %q", line)
				}
			}
		})
	}
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestProgressLinesOffTerminal: off a terminal, the scan logs JSON progress
// lines with the counts, percent and eta_s, and draws no bar.
func TestProgressLinesOffTerminal(t *testing.T) {
	t.Parallel()
	srv, err := simorg.Start(simorg.Default(), simorg.Options{Latency: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	res := runScan(t, srv, nil, "--progress-interval", "200ms", "--log-format", "json")
	if res.code != exitPartial {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if strings.Contains(res.stderr, barPrefix) || strings.Contains(res.stderr, "\x1b[") {
		t.Errorf("a progress bar was drawn off a terminal:\n%s", res.stderr)
	}
	lines := 0
	var lastDone float64
	for _, line := range strings.Split(res.stderr, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "progress" {
			continue
		}
		lines++
		for _, k := range []string{"targets_done", "targets_total", "percent", "eta_s", "described", "carried", "rate", "fail"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("progress line without %s: %s", k, line)
			}
		}
		done, _ := rec["targets_done"].(float64)
		total, _ := rec["targets_total"].(float64)
		pct, _ := rec["percent"].(float64)
		if done < lastDone || done > total || pct < 0 || pct > 100 {
			t.Errorf("progress line out of order or range: %s", line)
		}
		lastDone = done
	}
	if lines == 0 {
		t.Errorf("no progress line in a scan of several seconds:\n%s", res.stderr)
	}
}
