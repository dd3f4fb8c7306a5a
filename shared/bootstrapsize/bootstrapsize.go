// Package bootstrapsize keeps every function's Lambda bootstrap (the
// stripped linux/arm64 binary `make functions` builds into
// .build/lambda/<function>/bootstrap) at most Limit bytes.
//
// Its test checks the bootstraps `make functions` built (make test builds
// them first); its benchmark builds every function itself, with the
// Makefile's own environment and flags (read from the Makefile, so the two
// never drift apart), and reports the sizes:
//
//	go test -run '^$' -bench BootstrapSize ./shared/bootstrapsize
//
// No function links it (every directory under functions/ is a Lambda
// function to the Makefile, so it cannot live there).
package bootstrapsize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Limit is the largest bootstrap allowed, in bytes (10 MB).
const Limit = 10_000_000

// Build is how the Makefile's functions target runs go build for each
// function, minus the output file and the package.
type Build struct {
	// Env holds the assignments before the go command (GOOS=linux, …).
	Env []string
	// Flags are go build's flags, one shell word each
	// (-tags, lambda.norpc, -trimpath, -ldflags=-s -w).
	Flags []string
}

// String is the command as a shell would read it (without -o and the
// package).
func (b Build) String() string {
	words := append(slices.Clone(b.Env), "go", "build")
	for _, f := range b.Flags {
		if strings.ContainsAny(f, " \t\"'$") {
			f = "'" + f + "'"
		}
		words = append(words, f)
	}

	return strings.Join(words, " ")
}

// ReadMakefile reads the functions target of the Makefile in root.
func ReadMakefile(root string) (Build, error) {
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return Build{}, err
	}

	return ParseMakefile(string(data))
}

// ParseMakefile finds the `$(GO) build` command of the functions target's
// recipe and returns its environment and flags. It refuses what it cannot
// read faithfully (a Make variable or shell expansion among the flags), so
// a changed Makefile fails loudly instead of being measured with other
// flags.
func ParseMakefile(makefile string) (Build, error) {
	recipe, err := targetRecipe(makefile, "functions")
	if err != nil {
		return Build{}, err
	}
	words, err := shellWords(recipe)
	if err != nil {
		return Build{}, fmt.Errorf("functions target: %w", err)
	}

	goAt := -1
	for i := 0; i+1 < len(words); i++ {
		if words[i] == "$(GO)" && words[i+1] == "build" {
			goAt = i
			break
		}
	}
	if goAt < 0 {
		return Build{}, errors.New("functions target: no `$(GO) build` command")
	}

	var b Build
	for i := goAt - 1; i >= 0 && isAssignment(words[i]); i-- {
		b.Env = append([]string{words[i]}, b.Env...)
	}
	for i := goAt + 2; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "||" || w == "&&" || w == ";" || strings.HasSuffix(w, ";"):
			i = len(words) // end of the go command
		case w == "-o":
			i++ // the output file: the caller chooses its own
		case strings.HasPrefix(w, "./functions/"):
			// the package
		case strings.Contains(w, "$"):
			return Build{}, fmt.Errorf("functions target: cannot read go build word %q (a Make variable or shell expansion): teach bootstrapsize.ParseMakefile", w)
		default:
			b.Flags = append(b.Flags, w)
		}
	}
	if len(b.Env) == 0 {
		return Build{}, errors.New("functions target: no GOOS/GOARCH assignments before `$(GO) build`")
	}

	return b, nil
}

// targetRecipe returns the recipe lines of target, continuation lines
// joined.
func targetRecipe(makefile, target string) (string, error) {
	lines := strings.Split(makefile, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, target+":") {
			continue
		}
		var recipe strings.Builder
		for _, l := range lines[i+1:] {
			if !strings.HasPrefix(l, "\t") {
				break
			}
			l = strings.TrimSpace(l)
			l = strings.TrimPrefix(l, "@")
			recipe.WriteString(strings.TrimSuffix(l, "\\"))
			recipe.WriteString(" ")
		}

		return recipe.String(), nil
	}

	return "", fmt.Errorf("no %s target in the Makefile", target)
}

// shellWords splits s into words the way the shell would for the quoting
// the Makefile uses: whitespace-separated, with '…' and "…" quotes removed.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		word  strings.Builder
		in    bool // a word has started
		quote rune
	)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		default:
			word.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		words = append(words, word.String())
	}

	return words, nil
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for _, r := range name {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}

	return true
}

// Functions lists the functions the Makefile builds: the directories under
// root/functions, sorted.
func Functions(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, errors.New("no function under functions/")
	}

	return names, nil
}

// Over returns the functions whose size exceeds Limit, in the order of
// names.
func Over(names []string, sizes map[string]int64) []string {
	var over []string
	for _, n := range names {
		if sizes[n] > Limit {
			over = append(over, n)
		}
	}

	return over
}
