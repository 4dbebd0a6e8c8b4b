package remediate

import (
	"fmt"
	"strings"
)

// diffContext is how many unchanged lines a hunk shows around a change.
const diffContext = 3

// Diff returns a unified diff of the lines of a and b, labelled with their
// names, or "" when they are equal. It finds a longest common subsequence,
// which for files of a few hundred lines is quick and exact.
func Diff(aName, bName, a, b string) string {
	x, y := lines(a), lines(b)
	n, m := len(x), len(y)
	// lcs[i][j] is the length of the longest common subsequence of x[i:]
	// and y[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type edit struct {
		op   byte // ' ', '-', '+'
		text string
		i, j int // line numbers (0-based) in x and y before this edit
	}
	var edits []edit
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			edits = append(edits, edit{' ', x[i], i, j})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			edits = append(edits, edit{'-', x[i], i, j})
			i++
		default:
			edits = append(edits, edit{'+', y[j], i, j})
			j++
		}
	}
	var out strings.Builder
	for k := 0; k < len(edits); {
		if edits[k].op == ' ' {
			k++
			continue
		}
		// A hunk: from diffContext lines before the change to diffContext
		// lines after the last change closer than 2*diffContext.
		start := max(0, k-diffContext)
		end := k
		for e := k; e < len(edits); e++ {
			if edits[e].op != ' ' {
				end = e
			} else if e-end > 2*diffContext {
				break
			}
		}
		end = min(len(edits), end+diffContext+1)
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
		}
		var la, lb int
		for _, e := range edits[start:end] {
			if e.op != '+' {
				la++
			}
			if e.op != '-' {
				lb++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", edits[start].i+1, la, edits[start].j+1, lb)
		for _, e := range edits[start:end] {
			out.WriteByte(e.op)
			out.WriteString(e.text)
			out.WriteByte('\n')
		}
		k = end
	}
	return out.String()
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
