package report

import (
	"cmp"
	"html/template"
	"io"
	"slices"
	"strings"
)

// htmlPage is what the page template reads.
type htmlPage struct {
	*Report
	Limit                                       int
	TrendChart, ByOU, ByAccount, Top, GapsChart template.HTML
	FailingShown, ErrorsShown                   []TaskDefinition
	GapsShown                                   []Gap
	NewFails, Fixed                             []TaskDefinition
	NewGaps                                     []Gap
	States                                      []string
	Accounts                                    []Account // cleaned
}

// writeHTML writes one self-contained page: inline CSS, inline SVG charts,
// a few lines of inline script to sort and filter the tables. Its
// Content-Security-Policy forbids fetching anything.
func writeHTML(w io.Writer, r *Report, limit int) error {
	p := htmlPage{Report: r, Limit: limit, States: resultOrder, Accounts: slices.Clone(r.Accounts)}
	for i, a := range p.Accounts {
		p.Accounts[i].AccountName, p.Accounts[i].OUNames = clean(a.AccountName), clean(a.OUNames)
	}
	p.TrendChart = trendChart(r.Trend)
	byOU := map[string]int64{}
	var byAccount []bar
	for _, a := range r.Accounts {
		byOU[cmp.Or(a.OUNames, "(no OU)")] += a.Fail
		if a.Fail > 0 {
			byAccount = append(byAccount, bar{cmp.Or(a.AccountName, a.AccountID), a.Fail})
		}
	}
	p.ByOU = hbars("chart-ou", "Failing task definitions by OU", top(byOU, 10), colorFail)
	slices.SortStableFunc(byAccount, func(a, b bar) int { return cmp.Compare(b.value, a.value) })
	p.ByAccount = hbars("chart-account", "Failing task definitions by account", byAccount[:min(len(byAccount), 10)], colorFail)
	families := map[string]int64{}
	for _, td := range r.Failing {
		families[td.Family]++
	}
	p.Top = hbars("chart-families", "Top failing families (failing revisions)", top(families, 10), colorFail)
	kinds := map[string]int64{}
	for _, g := range r.Gaps {
		kinds[gapNames[g.Gap]]++
	}
	p.GapsChart = hbars("chart-gaps", "Coverage gaps by kind", top(kinds, 10), colorGap)
	p.FailingShown, p.ErrorsShown, p.GapsShown = cleanTDs(r.Failing, limit), cleanTDs(r.Errors, limit), cleanGaps(r.Gaps, limit)
	p.NewFails, p.Fixed, p.NewGaps = cleanTDs(r.Changes.NewFails, limit), cleanTDs(r.Changes.Fixed, limit), cleanGaps(r.Changes.NewGaps, limit)
	return page.Execute(w, p)
}

var gapNames = map[string]string{
	"stale":         "stale scan",
	"never_scanned": "never scanned",
	"last_attempt":  "newest attempt failed",
	"account":       "account unreachable",
}

// top returns the n largest counts, largest first, ties by name.
func top(m map[string]int64, n int) []bar {
	var bars []bar
	for k, v := range m {
		if v > 0 {
			bars = append(bars, bar{k, v})
		}
	}
	slices.SortFunc(bars, func(a, b bar) int { return cmp.Or(cmp.Compare(b.value, a.value), strings.Compare(a.label, b.label)) })
	return bars[:min(len(bars), n)]
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"gapName": func(g string) string { return gapNames[g] },
	"tds": func(id string, tds []TaskDefinition) any {
		return struct {
			ID  string
			TDs []TaskDefinition
		}{id, tds}
	},
	"gaps": func(id string, gs []Gap) any {
		return struct {
			ID   string
			Gaps []Gap
		}{id, gs}
	},
	"why": func(g Gap) string { return g.why() },
	"stateClass": func(s string) string {
		return strings.ToLower(strings.ReplaceAll(s, "_", "-"))
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ecsaudit posture {{.AsOf}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1c1c1c;background:#f5f6f8}
header{background:#1f2937;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:2px 0 0;color:#cbd5e1}
main{padding:16px 24px;max-width:1280px}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:14px}
.card{background:#fff;border-radius:6px;padding:8px 14px;min-width:110px;box-shadow:0 1px 2px #0002;border-top:4px solid #999}
.card b{display:block;font-size:24px}.card span{color:#555;font-size:12px}
.card.fail{border-color:#c62828}.card.pass{border-color:#2e7d32}.card.error{border-color:#ef6c00}.card.not-applicable{border-color:#9e9e9e}.card.stale{border-color:#6a1b9a}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:12px}
section,figure{background:#fff;border-radius:6px;padding:10px 14px;margin:0 0 12px;box-shadow:0 1px 2px #0002}
figure figcaption,h2{font-weight:600;font-size:15px;margin:0 0 6px}
svg.chart{max-width:100%;height:auto;font-size:12px}svg .muted{fill:#666;font-size:11px}svg .v{fill:#333;font-size:11px}svg .grid{stroke:#e5e7eb}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{cursor:pointer;user-select:none;background:#f0f1f3;position:sticky;top:0}th[data-dir=asc]::after{content:" ▲"}th[data-dir=desc]::after{content:" ▼"}
td.n,th.n{text-align:right}td.nw{white-space:nowrap}td.fail{color:#c62828;font-weight:600}
input.filter{margin:0 0 6px;padding:4px 8px;width:280px;border:1px solid #ccc;border-radius:4px}
.muted{color:#666}ul.c{margin:0;padding-left:16px}a{color:#1d4ed8}
</style></head><body>
<header><h1>ecsaudit posture as of {{.AsOf}}</h1>
<p>{{with .NewestRun}}newest run {{.RunID}} ({{.Status}}), started {{.StartedAt.Format "2006-01-02 15:04 UTC"}}{{end}} · rule {{.Report.RuleTitle}}</p></header>
<main>
<div class="cards">{{range $s := .States}}<div class="card {{stateClass $s}}"><b id="total-{{$s}}">{{index $.Totals $s}}</b><span>{{$s}} containers</span></div>{{end}}
<div class="card"><b id="gaps-count">{{len .Report.Gaps}}</b><span>coverage gaps</span></div></div>
<div class="charts">
<figure><figcaption>Posture trend: task definitions by verdict per posture day ({{len .Report.Trend}} shown)</figcaption>{{.TrendChart}}</figure>
<figure><figcaption>Failing task definitions by OU</figcaption>{{.ByOU}}</figure>
<figure><figcaption>Failing task definitions by account (top 10)</figcaption>{{.ByAccount}}</figure>
<figure><figcaption>Top failing families (failing revisions)</figcaption>{{.Top}}</figure>
<figure><figcaption>Coverage gaps</figcaption>{{.GapsChart}}</figure>
</div>
<section><h2>By OU and account</h2><input class="filter" data-for="t-accounts" placeholder="filter…" aria-label="filter accounts">
<table class="data" id="t-accounts"><thead><tr><th>OU</th><th>account</th><th class="n">targets</th><th class="n">stale</th><th class="n">not scanned</th><th class="n">FAIL</th><th class="n">PASS</th><th class="n">N/A</th><th class="n">ERROR</th></tr></thead><tbody>
{{range .Accounts}}<tr><td>{{.OUNames}}</td><td>{{.AccountName}} <span class="muted">{{.AccountID}}</span></td><td class="n">{{.Targets}}</td><td class="n">{{.TargetsStale}}</td><td class="n">{{.TargetsNotScanned}}</td><td class="n{{if .Fail}} fail{{end}}">{{.Fail}}</td><td class="n">{{.Pass}}</td><td class="n">{{.NotApplicable}}</td><td class="n">{{.Errors}}</td></tr>
{{end}}</tbody></table></section>
{{define "tds"}}<table class="data" id="{{.ID}}"><thead><tr><th>account</th><th>region</th><th>task definition</th><th>runs</th><th>containers and reasons</th><th>registered</th></tr></thead><tbody>
{{range .TDs}}<tr><td class="nw">{{.AccountName}} <span class="muted">{{.AccountID}}</span></td><td class="nw">{{.Region}}</td><td class="nw"><a href="{{.ConsoleURL}}">{{.Name}}</a></td><td class="nw">{{.Use}}</td><td><ul class="c">{{range .Containers}}<li>{{if .Name}}<b>{{.Name}}</b>: {{end}}{{.Reason}}</li>{{end}}</ul></td><td class="nw" data-v="{{.RegisteredAt.Unix}}">{{if not .RegisteredAt.IsZero}}{{.RegisteredAt.Format "2006-01-02"}}{{end}}</td></tr>
{{end}}</tbody></table>{{end}}
{{define "gaps"}}<table class="data" id="{{.ID}}"><thead><tr><th>account</th><th>region</th><th>gap</th><th>why</th></tr></thead><tbody>
{{range .Gaps}}<tr><td>{{.AccountName}} <span class="muted">{{.AccountID}}</span></td><td class="nw">{{if .Region}}{{.Region}}{{else}}<span class="muted">whole account</span>{{end}}</td><td class="nw">{{gapName .Gap}}</td><td>{{why .}}</td></tr>
{{end}}</tbody></table>{{end}}
<section><h2>Failing task definitions: <span id="failing-count">{{len .Failing}}</span>, those that run first{{if gt (len .Failing) .Limit}} (first {{.Limit}}){{end}}</h2>
<input class="filter" data-for="t-failing" placeholder="filter…" aria-label="filter failing task definitions">
{{template "tds" (tds "t-failing" .FailingShown)}}</section>
<section><h2>ERROR task definitions: {{len .Errors}}{{if gt (len .Errors) .Limit}} (first {{.Limit}}){{end}}</h2>{{template "tds" (tds "t-errors" .ErrorsShown)}}</section>
<section><h2>Not scanned, stale or unreachable: {{len .Report.Gaps}}{{if gt (len .Report.Gaps) .Limit}} (first {{.Limit}}){{end}}</h2>{{template "gaps" (gaps "t-gaps" .GapsShown)}}</section>
<section><h2>Changes since the previous posture run</h2>
{{if .Changes.Since}}<p class="muted">against the posture without the newest posture run (previous: {{.Changes.Since}})</p>
<h2>New FAILs: {{len .Changes.NewFails}}</h2>{{template "tds" (tds "t-new-fails" .NewFails)}}
<h2>Fixed: {{len .Changes.Fixed}}</h2>{{template "tds" (tds "t-fixed" .Fixed)}}
<h2>New coverage gaps: {{len .Changes.NewGaps}}</h2>{{template "gaps" (gaps "t-new-gaps" .NewGaps)}}
{{else}}<p class="muted">no earlier posture run to compare with</p>{{end}}</section>
<p class="muted">Generated by ecsaudit report from the scan's Parquet output; the numbers are those of the Athena posture views. Task definitions link to the ECS console.</p>
</main>
<script>
document.querySelectorAll("table.data").forEach(function(t){
  var f=document.querySelector('input[data-for="'+t.id+'"]'),b=t.tBodies[0];
  if(f)f.addEventListener("input",function(){var q=f.value.toLowerCase();
    for(var r of b.rows)r.hidden=q!==""&&r.textContent.toLowerCase().indexOf(q)<0;});
  t.querySelectorAll("th").forEach(function(th,i){th.addEventListener("click",function(){
    var asc=th.dataset.dir!=="asc",num=th.classList.contains("n");
    t.querySelectorAll("th").forEach(function(h){delete h.dataset.dir;});th.dataset.dir=asc?"asc":"desc";
    var key=function(r){var c=r.cells[i],v=c.dataset.v!==undefined?c.dataset.v:c.textContent;return num||c.dataset.v!==undefined?Number(v):v.toLowerCase();};
    Array.from(b.rows).sort(function(x,y){var a=key(x),c=key(y);return (a<c?-1:a>c?1:0)*(asc?1:-1);}).forEach(function(r){b.appendChild(r);});
  });});
});
</script>
</body></html>
`))

// cleanTDs returns a copy of the first limit task definitions whose
// strings from AWS carry no control characters (html/template escapes the
// rest).
func cleanTDs(in []TaskDefinition, limit int) []TaskDefinition {
	out := slices.Clone(in[:min(len(in), limit)])
	for i, td := range out {
		td.AccountName, td.OUNames, td.Family, td.ARN, td.Region = clean(td.AccountName), clean(td.OUNames), clean(td.Family), clean(td.ARN), clean(td.Region)
		td.Containers = slices.Clone(td.Containers)
		for j, ct := range td.Containers {
			td.Containers[j].Name, td.Containers[j].Reason = clean(ct.Name), clean(ct.Reason)
		}
		out[i] = td
	}
	return out
}

// cleanGaps is cleanTDs for gaps.
func cleanGaps(in []Gap, limit int) []Gap {
	out := slices.Clone(in[:min(len(in), limit)])
	for i, g := range out {
		g.AccountName, g.OUNames, g.Region, g.ErrorCode, g.ErrorMessage = clean(g.AccountName), clean(g.OUNames), clean(g.Region), clean(g.ErrorCode), clean(g.ErrorMessage)
		out[i] = g
	}
	return out
}
