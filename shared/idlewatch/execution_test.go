package idlewatch

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

// Step Functions' execution names: 1–80 characters, none of whitespace,
// brackets, wildcards, punctuation or control characters.
var executionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func TestExecutionNames(t *testing.T) {
	at := time.Date(2026, 3, 14, 12, 10, 30, 0, time.UTC)
	long := strings.Repeat("a", 63) // the longest rule name (a DNS label)
	tests := []struct {
		name       string
		rule, host string
		sleep      string
		repair     string
	}{
		{name: "a rule", rule: "app", host: "app.autostop.example.test",
			sleep: "app-78f0fa33-sleep-1773490230000", repair: "app-78f0fa33-repair-29558170"},
		{name: "the longest rule name is cut to 50", rule: long, host: "a.example.test",
			sleep:  strings.Repeat("a", 50) + "-c4266aa2-sleep-1773490230000",
			repair: strings.Repeat("a", 50) + "-c4266aa2-repair-29558170"},
		{name: "characters outside the alphabet become -", rule: "my app.v2", host: "a.example.test",
			sleep: "my-app-v2-c4266aa2-sleep-1773490230000", repair: "my-app-v2-c4266aa2-repair-29558170"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := rulestore.Item{Host: tt.host, Rule: rule.Rule{Name: tt.rule}, SleepRequestedAt: at}
			if got := SleepExecutionName(it); got != tt.sleep {
				t.Errorf("SleepExecutionName = %q, want %q", got, tt.sleep)
			}
			// Any time within the minute names the same repair.
			for _, now := range []time.Time{at, at.Truncate(time.Minute), at.Truncate(time.Minute).Add(59 * time.Second)} {
				if got := RepairExecutionName(it, now); got != tt.repair {
					t.Errorf("RepairExecutionName(%s) = %q, want %q", now.Format(time.TimeOnly), got, tt.repair)
				}
			}
			if got := RepairExecutionName(it, at.Add(time.Minute)); got == tt.repair {
				t.Errorf("the next minute's repair has the same name %q", got)
			}
			for _, n := range []string{tt.sleep, tt.repair} {
				if !executionNameRE.MatchString(n) || len(n) > MaxExecutionName {
					t.Errorf("%q (%d characters) is not a valid execution name", n, len(n))
				}
			}
		})
	}
}

func TestSleepNamesDifferPerSleepAndHost(t *testing.T) {
	a := rulestore.Item{Host: "a.example.test", Rule: rule.Rule{Name: "app"}, SleepRequestedAt: testNow}
	later, other := a, a
	later.SleepRequestedAt = testNow.Add(time.Millisecond)
	other.Host = "b.example.test"
	if SleepExecutionName(a) == SleepExecutionName(later) || SleepExecutionName(a) == SleepExecutionName(other) {
		t.Errorf("names collide: %s %s %s", SleepExecutionName(a), SleepExecutionName(later), SleepExecutionName(other))
	}
}
