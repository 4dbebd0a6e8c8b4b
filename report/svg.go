package report

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// bar is one labelled value of a chart.
type bar struct {
	label string
	value int64
}

// Chart colours: the same meaning everywhere in the page.
const (
	colorFail  = "#c62828"
	colorError = "#ef6c00"
	colorPass  = "#2e7d32"
	colorNA    = "#9e9e9e"
	colorGap   = "#6a1b9a"
)

// hbars draws a horizontal bar chart of bars as inline SVG; id names it
// for the page's tests.
func hbars(id, title string, bars []bar, color string) template.HTML {
	const width, labelW, rowH, top = 480, 190, 22, 8
	var b strings.Builder
	h := top*2 + rowH*max(len(bars), 1)
	fmt.Fprintf(&b, `<svg id="%s" class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d"><title>%s</title>`,
		id, width, h, width, h, html.EscapeString(title))
	if len(bars) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="%d" class="muted">none</text>`, top+15)
	}
	var most int64 = 1
	for _, x := range bars {
		most = max(most, x.value)
	}
	for i, x := range bars {
		y := top + i*rowH
		w := int(float64(width-labelW-50) * float64(x.value) / float64(most))
		x.label = clean(x.label)
		label := x.label
		if r := []rune(label); len(r) > 26 {
			label = string(r[:25]) + "…"
		}
		fmt.Fprintf(&b, `<g><title>%s: %d</title><text x="%d" y="%d" text-anchor="end">%s</text>`+
			`<rect x="%d" y="%d" width="%d" height="%d" fill="%s" rx="2"/><text x="%d" y="%d" class="v">%d</text></g>`,
			html.EscapeString(x.label), x.value, labelW-8, y+15, html.EscapeString(label),
			labelW, y+3, max(w, 1), rowH-6, color, labelW+max(w, 1)+6, y+15, x.value)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// trendChart draws the posture's task definitions by verdict per day as
// stacked bars.
func trendChart(days []Day) template.HTML {
	const width, height, left, bottom, top = 480, 210, 44, 34, 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="chart-trend" class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d"><title>Task definitions by verdict, per posture day</title>`,
		width, height, width, height)
	var most int64 = 1
	for _, d := range days {
		most = max(most, d.Fail+d.Errors+d.Pass+d.NotApplicable)
	}
	plotH := float64(height - bottom - top)
	for _, frac := range []float64{0, 0.5, 1} {
		y := float64(top) + plotH*(1-frac)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" text-anchor="end" class="muted">%d</text>`,
			left, width, y, y, left-6, y+4, int64(frac*float64(most)))
	}
	n := max(len(days), 1)
	slot := float64(width-left) / float64(n)
	barW := min(slot*0.7, 48)
	for i, d := range days {
		x := float64(left) + slot*float64(i) + (slot-barW)/2
		y := float64(height - bottom)
		fmt.Fprintf(&b, `<g><title>%s: FAIL %d, ERROR %d, PASS %d, NOT_APPLICABLE %d; targets stale %d, not scanned %d</title>`,
			html.EscapeString(d.DT), d.Fail, d.Errors, d.Pass, d.NotApplicable, d.TargetsStale, d.TargetsNotScanned)
		for _, part := range []struct {
			v     int64
			color string
		}{{d.Fail, colorFail}, {d.Errors, colorError}, {d.Pass, colorPass}, {d.NotApplicable, colorNA}} {
			h := plotH * float64(part.v) / float64(most)
			y -= h
			if part.v > 0 {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x, y, barW, h, part.color)
			}
		}
		b.WriteString(`</g>`)
		if n <= 16 || i%((n+15)/16) == 0 {
			label := d.DT
			if len(label) == len("2006-01-02") {
				label = label[5:] // MM-DD
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="muted">%s</text>`, x+barW/2, height-bottom+16, html.EscapeString(label))
		}
	}
	legend := []struct{ name, color string }{{"FAIL", colorFail}, {"ERROR", colorError}, {"PASS", colorPass}, {"N/A", colorNA}}
	for i, l := range legend {
		x := left + i*80
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="muted">%s</text>`,
			x, height-12, l.color, x+14, height-3, l.name)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
