package idlewatch

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/idle"
)

// Defaults of Config.
const (
	// DefaultMetricNamespace is where dry runs are counted.
	DefaultMetricNamespace = "Autostop"
	// DefaultStuckSleepAfter: a rule stopping this long without a recorded
	// SleepRule execution had its execution lost; it is started again.
	DefaultStuckSleepAfter = time.Minute
	// DefaultConcurrency bounds the rules acted on at once.
	DefaultConcurrency = 4
)

// The dry-run metric: one datum per idle dry-run rule and run, value 1.
const (
	WouldStopMetric = "WouldStop"
	RuleDimension   = "Rule"
)

// Config configures the watcher. ConfigFromEnv builds it from the
// function's environment; zero optional fields take their defaults.
type Config struct {
	// Idle times the idle decision (lag, period, what an idle minute
	// lasts); its zero value is AWS's (shared/idle).
	Idle idle.Config
	// WakeStateMachineARN (WakeRule) wakes rules whose instances were
	// started outside autostop. Required.
	WakeStateMachineARN string
	// SleepStateMachineARN (SleepRule) puts rules to sleep. Required.
	SleepStateMachineARN string
	// RepairStateMachineARN (RepairTargets) registers deregistered
	// instances again. Required.
	RepairStateMachineARN string
	// MetricNamespace of the WouldStop metric. Default
	// DefaultMetricNamespace.
	MetricNamespace string
	// StuckSleepAfter: see DefaultStuckSleepAfter.
	StuckSleepAfter time.Duration
	// Concurrency: how many rules are acted on at once (writes, executions,
	// target health). Default DefaultConcurrency.
	Concurrency int
}

// withDefaults returns the configuration with its zero fields set.
func (c Config) withDefaults() Config {
	c.Idle = c.Idle.WithDefaults()
	if c.MetricNamespace == "" {
		c.MetricNamespace = DefaultMetricNamespace
	}
	if c.StuckSleepAfter <= 0 {
		c.StuckSleepAfter = DefaultStuckSleepAfter
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}

	return c
}

var stateMachineARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$`)

// Validate reports every missing or malformed field.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ env, value string }{
		{app.EnvWakeStateMachineARN, c.WakeStateMachineARN},
		{app.EnvSleepStateMachineARN, c.SleepStateMachineARN},
		{app.EnvRepairStateMachineARN, c.RepairStateMachineARN},
	} {
		switch {
		case f.value == "":
			errs = append(errs, fmt.Errorf("%s is not set: the state machine's ARN is required", f.env))
		case !stateMachineARNRE.MatchString(f.value):
			errs = append(errs, fmt.Errorf("%s=%q is not a state machine ARN", f.env, f.value))
		}
	}

	return errors.Join(errs...)
}

// ConfigFromEnv reads the watcher's configuration from the environment
// shared/app gives the idle-watch function: WAKE_STATE_MACHINE_ARN,
// SLEEP_STATE_MACHINE_ARN and REPAIR_STATE_MACHINE_ARN (required), and
// IDLE_LAG_SECONDS, IDLE_PERIOD_SECONDS, IDLE_UNIT_SECONDS (optional,
// seconds; unset or empty: shared/idle's defaults, which are AWS's). It
// reports every missing or malformed variable at once.
func ConfigFromEnv() (Config, error) { return configFrom(os.Getenv) }

func configFrom(getenv func(string) string) (Config, error) {
	c := Config{
		WakeStateMachineARN:   strings.TrimSpace(getenv(app.EnvWakeStateMachineARN)),
		SleepStateMachineARN:  strings.TrimSpace(getenv(app.EnvSleepStateMachineARN)),
		RepairStateMachineARN: strings.TrimSpace(getenv(app.EnvRepairStateMachineARN)),
	}
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct {
		env string
		to  *time.Duration
	}{
		{app.EnvIdleLagSeconds, &c.Idle.Lag},
		{app.EnvIdlePeriodSeconds, &c.Idle.Period},
		{app.EnvIdleUnitSeconds, &c.Idle.IdleUnit},
	} {
		d, err := seconds(f.env, getenv(f.env))
		if err != nil {
			errs = append(errs, err)
		}
		*f.to = d
	}
	if c.Idle.Period != 0 && c.Idle.Period%time.Second != 0 {
		errs = append(errs, fmt.Errorf("%s=%s: the metric period is whole seconds", app.EnvIdlePeriodSeconds, c.Idle.Period))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("idle watcher configuration: %w", err)
	}

	return c, nil
}

// seconds parses a positive number of seconds; "" is 0 (the default).
func seconds(env, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 7*24*3600 {
		return 0, fmt.Errorf("%s=%q is not a number of seconds (more than 0, at most a week)", env, v)
	}

	return time.Duration(f * float64(time.Second)), nil
}
