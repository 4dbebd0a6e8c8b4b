package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which scripts/test installs.
const chromiumPath = "/usr/bin/chromium"

// TestReportHTMLInBrowser renders the demo's HTML report in headless
// Chromium and checks what a reader sees: the five charts drawn, the demo's
// hand-counted numbers, a filter and a sort that work, no console error, no
// request beyond the file itself.
func TestReportHTMLInBrowser(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium not found at %s (scripts/test installs it: apt-get install chromium): %v", chromiumPath, err)
	}
	res := runScan(t, nil, nil, "--simulate")
	if res.code != exitPartial {
		t.Fatalf("scan: exit %d\n%s", res.code, res.stderr)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, stderr := reportRun(t, "--output", res.out, "--format", "html", "--out", page); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	if st, err := os.Stat(page); err != nil || st.Size() > 64<<10 {
		t.Fatalf("report.html: %v, want under 64 KiB (size %d)", err, st.Size())
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute) // a loaded machine starts Chromium slowly
	defer cancelTimeout()

	var mu sync.Mutex
	var problems, requests []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, "console "+string(e.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, "log: "+e.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		}
	})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}

	var failTotal, passTotal, failingCount, firstAfterSort, consoleLink string
	var charts, bars, rows, visible int
	steps := []func() error{
		func() error {
			return chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitReady(chromedp.CSS("#t-failing")))
		},
		func() (err error) {
			failTotal, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#total-FAIL")))
			return
		},
		func() (err error) {
			passTotal, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#total-PASS")))
			return
		},
		func() (err error) {
			failingCount, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#failing-count")))
			return
		},
		func() (err error) {
			charts, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart").length`))
			return
		},
		func() (err error) {
			bars, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect").length`))
			return
		},
		func() (err error) {
			rows, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#t-failing tbody tr").length`))
			return
		},
		func() (err error) {
			consoleLink, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#t-failing a").href`))
			return
		},
		// Filter the failing table on a family; sort the accounts by FAIL.
		func() error {
			return chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[data-for="t-failing"]`), "ledger"))
		},
		func() (err error) {
			visible, err = chromedp.Run(ctx, chromedp.Evaluate[int](
				`Array.from(document.querySelectorAll("#t-failing tbody tr")).filter(r => !r.hidden).length`))
			return
		},
		func() error {
			return chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`#t-accounts th:nth-child(6)`)), // ascending
				chromedp.Click(chromedp.CSS(`#t-accounts th:nth-child(6)`))) // descending
		},
		func() (err error) {
			firstAfterSort, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#t-accounts tbody tr:first-child td:nth-child(2)`)))
			return
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	if failTotal != "13" || passTotal != "21" || failingCount != "13" || rows != 13 {
		t.Errorf("rendered FAIL %q, PASS %q, failing %q with %d rows; want 13, 21, 13, 13", failTotal, passTotal, failingCount, rows)
	}
	if charts != 5 || bars < 15 {
		t.Errorf("%d charts with %d rects; want 5 charts with bars", charts, bars)
	}
	if visible != 4 {
		t.Errorf("filter 'ledger' left %d rows visible, want the 4 ledger revisions", visible)
	}
	if !strings.HasPrefix(firstAfterSort, "prod-payments") {
		t.Errorf("sorted by FAIL descending, the first account is %q, want prod-payments (6)", firstAfterSort)
	}
	if !strings.HasPrefix(consoleLink, "https://us-east-1.console.aws.amazon.com/ecs/v2/task-definitions/payments-api/3") { // running first
		t.Errorf("first task definition links to %q, want its ECS console page", consoleLink)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("console: %q", problems)
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s: it must work offline", u)
		}
	}
	if len(requests) == 0 {
		t.Error("no request seen at all: the network listener is not working")
	}
}
