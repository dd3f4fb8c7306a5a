package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// MaxExecutionNameLength is Step Functions' limit.
const MaxExecutionNameLength = 80

// executionNameRE: the characters Step Functions accepts everywhere an
// execution name appears (CloudWatch Logs too), and autostop tags accept.
var executionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

var invalidNameChar = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// executionName returns "cli-<name>-<UTC timestamp>-<4 random hex>",
// e.g. "cli-web-20250102T150405Z-a1b2".
func executionName(lbName string, now time.Time, random io.Reader) (string, error) {
	var b [2]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("random execution suffix: %w", err)
	}
	suffix := "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
	name := strings.Trim(invalidNameChar.ReplaceAllString(lbName, "-"), "-")
	if room := MaxExecutionNameLength - len("cli-") - len(suffix); len(name) > room {
		name = name[:room]
	}
	if name == "" {
		name = "lb"
	}

	return "cli-" + name + suffix, nil
}

// checkExecutionName checks a name given with --name.
func checkExecutionName(name string) error {
	if !executionNameRE.MatchString(name) {
		return fmt.Errorf("--name %q: an execution name is 1–%d letters, digits, hyphens and underscores", name, MaxExecutionNameLength)
	}

	return nil
}

var defaultRandom io.Reader = rand.Reader
