package infra

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// copyContext copies the repository at root to dst, leaving out what
// .dockerignore excludes, as docker build would send it.
func copyContext(t *testing.T, root, dst string) {
	t.Helper()
	ignore := dockerignore(t, filepath.Join(root, ".dockerignore"))
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked: a temporary file of another test
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && ignore(rel) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular():
			if err := copyFile(path, target); !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil // sockets, symlinks: not part of a Go build
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"go.mod", "go.sum", "cmd/ecsaudit"} {
		if _, err := os.Stat(filepath.Join(dst, must)); err != nil {
			t.Fatalf(".dockerignore leaves %s out of the build context", must)
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// dockerignore returns a matcher for the patterns of a .dockerignore file:
// patterns are anchored at the context root, * and ? stay within a path
// element, ** spans elements, and a matched directory takes its contents
// with it. Exclusions (!) are not used here and not supported.
func dockerignore(t *testing.T, path string) func(rel string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []*regexp.Regexp
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore exclusion %q: teach this test's matcher first", l)
		}
		l = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(l)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(l); i++ {
			switch {
			case strings.HasPrefix(l[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(l[i:], "**"):
				re.WriteString(".*")
				i++
			case l[i] == '*':
				re.WriteString("[^/]*")
			case l[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(l[i : i+1]))
			}
		}
		re.WriteString("$")
		patterns = append(patterns, regexp.MustCompile(re.String()))
	}
	return func(rel string) bool {
		for _, p := range patterns {
			if p.MatchString(rel) {
				return true
			}
		}
		return false
	}
}

// TestDockerignoreMatcher pins the .dockerignore semantics copyContext
// relies on.
func TestDockerignoreMatcher(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ".dockerignore")
	if err := os.WriteFile(path, []byte("# comment\n.git\n/docs\n*.test\n**/*_test.go\n**/testdata\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ignored := dockerignore(t, path)
	for rel, want := range map[string]bool{
		".git":                     true,
		"docs":                     true,
		"pkg.test":                 true,
		"cmd/pkg.test":             false, // * does not cross /
		"main_test.go":             true,
		"cmd/ecsaudit/e2e_test.go": true,
		"cmd/ecsaudit/main.go":     false,
		"check/testdata":           true,
		"testdata":                 true,
		"go.mod":                   false,
		"docsite":                  false,
	} {
		if got := ignored(rel); got != want {
			t.Errorf("ignored(%q) = %v, want %v", rel, got, want)
		}
	}
}
