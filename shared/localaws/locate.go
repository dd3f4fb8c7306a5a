package localaws

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KumoEnv names the environment variable that points at a kumo binary,
// overriding the build output (tests use it to run against another build).
const KumoEnv = "AUTOSTOP_KUMO"

// KumoBuildPath is where `make kumo` leaves the patched binary, relative to
// the repository root.
const KumoBuildPath = ".build/bin/kumo"

// FindKumo returns $AUTOSTOP_KUMO, or the patched binary built by `make kumo`
// in the repository that contains the working directory.
func FindKumo() (string, error) {
	if p := os.Getenv(KumoEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", KumoEnv, p, err)
		}
		return p, nil
	}

	root, err := RepoRoot()
	if err != nil {
		return "", err
	}

	p := filepath.Join(root, KumoBuildPath)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("patched kumo not found at %s: run `make kumo` (or set %s): %w", p, KumoEnv, err)
	}

	return p, nil
}

// RepoRoot walks up from the working directory to the directory holding this
// project's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}

	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}
