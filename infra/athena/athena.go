package athena

import (
	"embed"
	"fmt"
	"path"
	"strings"
)

//go:embed tables.sql views.sql queries/*.sql
var files embed.FS

// Tables returns the CREATE EXTERNAL TABLE statements for datasets stored
// under s3://bucket/prefix, one statement per element, without the trailing
// semicolon (Athena runs one statement per query). prefix may be empty.
func Tables(bucket, prefix string) ([]string, error) {
	if bucket == "" || strings.ContainsAny(bucket+prefix, "'\\`$") {
		return nil, fmt.Errorf("athena tables for s3://%s/%s: bucket must be set and neither may contain quotes, backslashes or '$'", bucket, prefix)
	}
	prefix = strings.Trim(prefix, "/")
	root := bucket
	if prefix != "" {
		root += "/" + prefix
	}
	text := strings.ReplaceAll(read("tables.sql"), "${bucket}/${prefix}", root)
	return Statements(text), nil
}

// Views returns the CREATE OR REPLACE VIEW statements in dependency order,
// one per element, without trailing semicolons.
func Views() []string { return Statements(read("views.sql")) }

// Queries returns the saved queries by name (the file name without .sql).
func Queries() map[string]string {
	names, err := files.ReadDir("queries")
	if err != nil {
		panic(err) // embedded at build time
	}
	q := make(map[string]string, len(names))
	for _, n := range names {
		name := n.Name()
		q[strings.TrimSuffix(name, ".sql")] = strings.Join(Statements(read(path.Join("queries", name))), ";\n")
	}
	return q
}

func read(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// Statements splits SQL text into statements at semicolons outside quotes
// and comments. Each statement loses its trailing semicolon and the
// comments and blank lines before its first word (Athena's DDL parser
// rejects a leading comment); comments inside a statement are kept.
func Statements(sql string) []string {
	var out []string
	start := 0
	flush := func(end int) {
		if s := trimLeadingComments(sql[start:end]); s != "" {
			out = append(out, s)
		}
		start = end + 1
	}
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'' || c == '"' || c == '`':
			// Skip to the closing quote; a doubled quote is an escaped one.
			for i++; i < len(sql); i++ {
				if sql[i] == c {
					if i+1 < len(sql) && sql[i+1] == c {
						i++
						continue
					}
					break
				}
			}
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(sql)
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(sql)
			}
		case c == ';':
			flush(i)
		}
	}
	if start < len(sql) {
		flush(len(sql))
	}
	return out
}

// trimLeadingComments drops whitespace and comments before a statement's
// first word, and trailing whitespace.
func trimLeadingComments(s string) string {
	for {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "--"):
			if j := strings.IndexByte(s, '\n'); j >= 0 {
				s = s[j+1:]
			} else {
				return ""
			}
		case strings.HasPrefix(s, "/*"):
			if j := strings.Index(s, "*/"); j >= 0 {
				s = s[j+2:]
			} else {
				return ""
			}
		default:
			return s
		}
	}
}
