package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/help from this run")

// TestHelpGolden renders every command's --help as a user sees it and
// compares it with testdata/help/<command path>.txt (`go test
// ./shared/cli -run TestHelpGolden -update` rewrites them). Every
// command's help has an example and says what the exit codes mean.
func TestHelpGolden(t *testing.T) {
	var paths [][]string
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		if cmd.Hidden || cmd.Name() == "help" || cmd.Name() == "completion" {
			return
		}
		paths = append(paths, path)
		for _, sub := range cmd.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk((&CLI{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}).Command(), nil)
	if len(paths) < 14 {
		t.Fatalf("%d commands, want every one of the CLI's", len(paths))
	}

	for _, path := range paths {
		name := strings.Join(append([]string{"autostop"}, path...), "-") + ".txt"
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := (&CLI{Stdout: &stdout, Stderr: &stderr}).Run(context.Background(), append(path, "--help"))
			got := stdout.String()
			if code != ExitOK || stderr.Len() > 0 {
				t.Fatalf("exit code %d, stderr %q", code, stderr.String())
			}
			if !strings.Contains(got, "Examples:") {
				t.Errorf("no example:\n%s", got)
			}
			if path != nil && path[0] != "version" && !strings.Contains(got, "Exit status:") {
				t.Errorf("the exit codes are not explained:\n%s", got)
			}
			file := filepath.Join("testdata", "help", name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("help differs from %s (run with -update after checking it):\n--- got\n%s--- want\n%s", file, got, want)
			}
		})
	}
}
