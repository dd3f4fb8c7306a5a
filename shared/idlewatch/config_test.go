package idlewatch

import (
	"strings"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/idle"
)

func TestConfigFromEnv(t *testing.T) {
	full := map[string]string{
		"WAKE_STATE_MACHINE_ARN":   wakeARN,
		"SLEEP_STATE_MACHINE_ARN":  sleepARN,
		"REPAIR_STATE_MACHINE_ARN": repairARN,
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    idle.Config
		wantErr []string // in the error
	}{
		{name: "idle timings unset: the defaults (AWS's)", env: full, want: idle.Config{}},
		{name: "AWS timings", env: with("IDLE_LAG_SECONDS", "180", "IDLE_PERIOD_SECONDS", "60", "IDLE_UNIT_SECONDS", "60"),
			want: idle.Config{Lag: 3 * time.Minute, Period: time.Minute, IdleUnit: time.Minute}},
		{name: "local timings", env: with("IDLE_LAG_SECONDS", "2", "IDLE_PERIOD_SECONDS", "1", "IDLE_UNIT_SECONDS", "1"),
			want: idle.Config{Lag: 2 * time.Second, Period: time.Second, IdleUnit: time.Second}},
		{name: "fractions of a second for the lag", env: with("IDLE_LAG_SECONDS", "1.5"),
			want: idle.Config{Lag: 1500 * time.Millisecond}},
		{name: "empty is unset", env: with("IDLE_LAG_SECONDS", " "), want: idle.Config{}},
		{name: "every state machine missing: all named", env: map[string]string{},
			wantErr: []string{"WAKE_STATE_MACHINE_ARN is not set", "SLEEP_STATE_MACHINE_ARN is not set", "REPAIR_STATE_MACHINE_ARN is not set"}},
		{name: "one missing", env: with("REPAIR_STATE_MACHINE_ARN", ""), wantErr: []string{"REPAIR_STATE_MACHINE_ARN is not set"}},
		{name: "not an ARN", env: with("SLEEP_STATE_MACHINE_ARN", "autostop-sleep-rule"),
			wantErr: []string{`SLEEP_STATE_MACHINE_ARN="autostop-sleep-rule" is not a state machine ARN`}},
		{name: "not a number", env: with("IDLE_LAG_SECONDS", "3m"), wantErr: []string{`IDLE_LAG_SECONDS="3m" is not a number of seconds`}},
		{name: "zero", env: with("IDLE_UNIT_SECONDS", "0"), wantErr: []string{`IDLE_UNIT_SECONDS="0"`}},
		{name: "negative", env: with("IDLE_PERIOD_SECONDS", "-60"), wantErr: []string{`IDLE_PERIOD_SECONDS="-60"`}},
		{name: "a period of part of a second", env: with("IDLE_PERIOD_SECONDS", "1.5"), wantErr: []string{"IDLE_PERIOD_SECONDS=1.5s: the metric period is whole seconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := configFrom(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, config %+v", c)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Idle != tt.want {
				t.Errorf("Idle = %+v, want %+v", c.Idle, tt.want)
			}
			if c.WakeStateMachineARN != wakeARN || c.SleepStateMachineARN != sleepARN || c.RepairStateMachineARN != repairARN {
				t.Errorf("ARNs %+v", c)
			}
		})
	}
}

func TestConfigFromEnvReadsTheEnvironment(t *testing.T) {
	t.Setenv("WAKE_STATE_MACHINE_ARN", wakeARN)
	t.Setenv("SLEEP_STATE_MACHINE_ARN", sleepARN)
	t.Setenv("REPAIR_STATE_MACHINE_ARN", repairARN)
	t.Setenv("IDLE_UNIT_SECONDS", "1")
	c, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.Idle.IdleUnit != time.Second || c.SleepStateMachineARN != sleepARN {
		t.Errorf("config %+v", c)
	}
}

func TestNewChecks(t *testing.T) {
	w := newWorld()
	if _, err := New(Config{}, w.deps(), nil); err == nil || !strings.Contains(err.Error(), "WAKE_STATE_MACHINE_ARN") {
		t.Errorf("New without ARNs: %v", err)
	}
	d := w.deps()
	d.ELBv2 = nil
	if _, err := New(testConfig(), d, nil); err == nil {
		t.Error("New without an ELBv2 client: no error")
	}
	wt, err := New(testConfig(), w.deps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := wt.cfg
	if c.Idle != (idle.Config{}).WithDefaults() || c.MetricNamespace != "Autostop" || c.StuckSleepAfter != time.Minute || c.Concurrency != DefaultConcurrency {
		t.Errorf("defaults %+v", c)
	}
}
