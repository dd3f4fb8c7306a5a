package localawstest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Running reports whether pid is a live process: it exists and is neither a
// zombie nor dead (a killed child whose parent has not reaped it yet still
// has a /proc entry).
func Running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndex(s, ")")

	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// StatusMB reads a kB field of /proc/<pid>/status ("VmRSS:", "VmHWM:") in
// MiB.
func StatusMB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatalf("read status of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}

	return 0
}
