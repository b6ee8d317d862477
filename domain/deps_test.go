package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The domain is pure: types, commands, events and decisions. These rules keep
// I/O and infrastructure out of it, in the style of tailscale's
// tstest/deptest.
var (
	// forbiddenAnywhere may not appear even among the transitive
	// dependencies of package domain.
	forbiddenAnywhere = []string{"database/sql", "net/http", "net", "os/exec", "log", "log/slog"}
	// forbiddenDirect may not be imported by package domain's own files. The
	// standard library reaches them anyway (fmt imports os), so they are not
	// checked transitively.
	forbiddenDirect = []string{"os", "syscall", "io/fs"}
	// forbiddenParts may not appear in any dependency's import path.
	forbiddenParts = []string{"nats", "watermill", "sqlite"}
)

// listedPackage is the part of `go list -json` output the rules need.
type listedPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string // of the non-test files
	Error      *struct{ Err string }
}

// depViolations returns every way a package with the given direct imports
// and transitive dependencies breaks the rules, one line each.
func depViolations(direct []string, deps []listedPackage) []string {
	var bad []string
	for _, imp := range direct {
		if slices.Contains(forbiddenDirect, imp) || slices.Contains(forbiddenAnywhere, imp) {
			bad = append(bad, "imports "+imp)
		}
	}
	for _, d := range deps {
		p := d.ImportPath
		switch {
		case !d.Standard && !strings.HasPrefix(p, "golang.org/x/text/"): // x/text: Unicode tables for NormalizeName
			bad = append(bad, "depends on "+p+", which is not in the standard library")
		case slices.Contains(forbiddenAnywhere, p):
			bad = append(bad, "depends on "+p)
		}
		for _, part := range forbiddenParts {
			if strings.Contains(strings.ToLower(p), part) {
				bad = append(bad, "depends on "+p+", which looks like "+part)
			}
		}
	}
	return bad
}

// goList runs `go list -deps -json .` for goos and returns package domain and
// its dependencies.
func goList(tb testing.TB, goos string) (self listedPackage, deps []listedPackage) {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("the go command is needed to check the domain's dependencies: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-deps", "-json", ".")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list (GOOS=%s): %v\n%s", goos, err, stderr.Bytes())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var all []listedPackage
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			tb.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			tb.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		all = append(all, p)
	}
	// -deps lists dependencies before the packages that need them: the
	// package itself comes last.
	if len(all) == 0 || !strings.HasSuffix(all[len(all)-1].ImportPath, "/domain") {
		tb.Fatalf("go list did not end with package domain: %v", all)
	}
	return all[len(all)-1], all[:len(all)-1]
}

func TestDomainDeps(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			self, deps := goList(t, goos)
			if len(self.Imports) == 0 {
				t.Fatal("go list found no imports: is the test looking at the right package?")
			}
			for _, v := range depViolations(self.Imports, deps) {
				t.Errorf("package domain %s", v)
			}
		})
	}
}

// TestDepViolations makes sure the rules can fail.
func TestDepViolations(t *testing.T) {
	std := func(paths ...string) []listedPackage {
		var ps []listedPackage
		for _, p := range paths {
			ps = append(ps, listedPackage{ImportPath: p, Standard: true})
		}
		return ps
	}
	tests := []struct {
		name   string
		direct []string
		deps   []listedPackage
		want   []string
	}{
		{name: "clean: os only through fmt",
			direct: []string{"fmt", "strings", "time"},
			deps:   std("errors", "fmt", "io/fs", "os", "strings", "syscall", "time")},
		{name: "direct os, io/fs and syscall",
			direct: []string{"fmt", "os", "io/fs", "syscall"},
			deps:   std("fmt", "io/fs", "os", "syscall"),
			want:   []string{"imports os", "imports io/fs", "imports syscall"}},
		{name: "net/http, directly",
			direct: []string{"net/http"},
			deps:   std("net", "net/http"),
			want:   []string{"imports net/http", "depends on net", "depends on net/http"}},
		{name: "log/slog through the standard library",
			direct: []string{"fmt"},
			deps:   std("fmt", "log", "log/slog", "os/exec", "database/sql"),
			want:   []string{"depends on log", "depends on log/slog", "depends on os/exec", "depends on database/sql"}},
		{name: "third-party modules",
			direct: []string{"github.com/google/uuid"},
			deps: []listedPackage{
				{ImportPath: "github.com/google/uuid"},
				{ImportPath: "github.com/nats-io/nats.go"},
				{ImportPath: "github.com/ThreeDotsLabs/watermill"},
			},
			want: []string{
				"depends on github.com/google/uuid, which is not in the standard library",
				"depends on github.com/nats-io/nats.go, which is not in the standard library",
				"depends on github.com/nats-io/nats.go, which looks like nats",
				"depends on github.com/ThreeDotsLabs/watermill, which is not in the standard library",
				"depends on github.com/ThreeDotsLabs/watermill, which looks like watermill",
			}},
		{name: "sqlite, even if vendored as standard",
			deps: []listedPackage{{ImportPath: "vendor/sqlite", Standard: true}},
			want: []string{"depends on vendor/sqlite, which looks like sqlite"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := depViolations(tc.direct, tc.deps)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("depViolations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
