package bootstrapsize

import (
	"bytes"
	"cmp"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/localaws"
)

// TestBuiltBootstrapSizes checks the bootstraps `make functions` built
// (`make test` runs it first). Building all 29 here would add 30 s (warm
// build cache) to over 2 minutes (cold) to every `go test ./...` on a
// 2-core machine, so without them it skips; the benchmark builds them
// itself.
func TestBuiltBootstrapSizes(t *testing.T) {
	root := root(t)
	names, err := Functions(root)
	if err != nil {
		t.Fatal(err)
	}

	sizes := map[string]int64{}
	oldest := time.Now()
	for _, n := range names {
		st, err := os.Stat(filepath.Join(root, ".build", "lambda", n, "bootstrap"))
		if errors.Is(err, fs.ErrNotExist) {
			t.Skipf("no .build/lambda/%s/bootstrap: run `make functions` (make test does) or the benchmark BenchmarkBootstrapSize", n)
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes[n] = st.Size()
		if st.ModTime().Before(oldest) {
			oldest = st.ModTime()
		}
	}
	if newestSource(t, root).After(oldest) {
		// go build leaves an up-to-date output untouched, so this may
		// be a false alarm (a file touched but not changed).
		t.Logf("note: a source file is newer than a bootstrap: the sizes may be stale (run `make functions`)")
	}

	logSizes(t, names, sizes)
	if over := Over(names, sizes); len(over) > 0 {
		t.Errorf("bootstraps over %d bytes: %s", Limit, strings.Join(over, ", "))
	}
}

// BenchmarkBootstrapSize builds every function for Lambda exactly as
// `make functions` does (environment and flags read from the Makefile) into
// a temporary directory, reports the largest and the total size (and each
// function's in the log), and fails when one exceeds Limit. ns/op is the
// time to build all of them.
func BenchmarkBootstrapSize(b *testing.B) {
	root := root(b)
	build, err := ReadMakefile(root)
	if err != nil {
		b.Fatal(err)
	}
	names, err := Functions(root)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("make functions: %s", build)

	sizes := map[string]int64{}
	for b.Loop() {
		out := b.TempDir()
		for _, n := range names {
			bin := filepath.Join(out, n, "bootstrap")
			args := append([]string{"build"}, build.Flags...)
			args = append(args, "-o", bin, "./functions/"+n)
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), build.Env...)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			if err := cmd.Run(); err != nil {
				b.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			st, err := os.Stat(bin)
			if err != nil {
				b.Fatal(err)
			}
			sizes[n] = st.Size()
		}
	}

	var largest, total int64
	for _, n := range names {
		largest = max(largest, sizes[n])
		total += sizes[n]
	}
	b.ReportMetric(float64(largest), "max-bytes")
	b.ReportMetric(float64(Limit-largest), "margin-bytes")
	b.ReportMetric(float64(total), "total-bytes")
	logSizes(b, names, sizes)
	if over := Over(names, sizes); len(over) > 0 {
		b.Errorf("bootstraps over %d bytes: %s", Limit, strings.Join(over, ", "))
	}
}

func TestParseMakefile(t *testing.T) {
	const makefile = "GO ?= go\n" +
		"functions: ## build\n" +
		"\t@for f in $(FUNCTIONS); do \\\n" +
		"\t  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -gcflags=\"all=-N -l\" -o $(BUILD)/lambda/$$f/bootstrap ./functions/$$f || exit 1; \\\n" +
		"\tdone\n" +
		"\n" +
		"local-functions:\n" +
		"\t@for f in $(FUNCTIONS); do CGO_ENABLED=0 $(GO) build -race -o x ./functions/$$f; done\n"
	got, err := ParseMakefile(makefile)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}; !slices.Equal(got.Env, want) {
		t.Errorf("env %q, want %q", got.Env, want)
	}
	if want := []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-gcflags=all=-N -l"}; !slices.Equal(got.Flags, want) {
		t.Errorf("flags %q, want %q", got.Flags, want)
	}
	if want := `GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath '-ldflags=-s -w' '-gcflags=all=-N -l'`; got.String() != want {
		t.Errorf("String() = %s, want %s", got, want)
	}

	for _, bad := range []string{
		"build:\n\tgo build ./...\n",
		"functions:\n\t@echo nothing\n",
		"functions:\n\t$(GO) build -o x ./functions/a\n",
		"functions:\n\tGOOS=linux $(GO) build $(FLAGS) -o x ./functions/a\n",
		"functions:\n\tGOOS=linux $(GO) build -ldflags='-s -o x ./functions/a\n",
	} {
		if _, err := ParseMakefile(bad); err == nil {
			t.Errorf("ParseMakefile(%q) accepted it", bad)
		}
	}
}

// TestMakefileBuildsForLambda: the repository's Makefile still builds
// stripped linux/arm64 binaries, which is what Limit is about.
func TestMakefileBuildsForLambda(t *testing.T) {
	build, err := ReadMakefile(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"} {
		if !slices.Contains(build.Env, want) {
			t.Errorf("functions target: no %s in %q", want, build.Env)
		}
	}
	if !slices.ContainsFunc(build.Flags, func(f string) bool {
		return strings.HasPrefix(f, "-ldflags=") && strings.Contains(f, "-s") && strings.Contains(f, "-w")
	}) {
		t.Errorf("functions target: not stripped (-ldflags with -s -w) in %q", build.Flags)
	}
}

func root(tb testing.TB) string {
	tb.Helper()
	r, err := localaws.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}

	return r
}

// newestSource is the modification time of the newest file a bootstrap can
// depend on: Go files outside .build, go.mod, go.sum and the Makefile.
func newestSource(tb testing.TB, root string) time.Time {
	tb.Helper()
	var newest time.Time
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) || name == "go.mod" || name == "go.sum" || name == "Makefile" {
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.ModTime().After(newest) {
				newest = info.ModTime()
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}

	return newest
}

func logSizes(tb testing.TB, names []string, sizes map[string]int64) {
	tb.Helper()
	byteSize := slices.Clone(names)
	slices.SortStableFunc(byteSize, func(a, b string) int { return cmp.Compare(sizes[b], sizes[a]) })
	for _, n := range byteSize {
		mark := ""
		if sizes[n] > Limit {
			mark = "  OVER"
		}
		tb.Logf("%-26s %10d bytes  %5.2f MB%s", n, sizes[n], float64(sizes[n])/1e6, mark)
	}
}
