package sleep

import (
	"context"
	"github.com/autostop/autostop/shared/steperr"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

// Run is the main of a step's function: it reads the configuration (the
// rules table's name from RULES_TABLE_NAME), then serves the step, logging
// each result or error as JSON with the sleep it belongs to.
func Run[Out any](name string, step func(context.Context, Deps, Input) (Out, error)) {
	cfg, log := awsenv.Setup()
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(Handler(name, step, NewDeps(cfg, store, nil), log))
}

// RunWaking is Run for the steps that may wake the rule (Finish,
// RecordFailure): they also need the WakeRule state machine, from
// WAKE_STATE_MACHINE_ARN.
func RunWaking[Out any](name string, step func(context.Context, Deps, Input) (Out, error)) {
	cfg, log := awsenv.Setup()
	store, waker, err := proxymanager.WakeFromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(Handler(name, step, NewDeps(cfg, store, waker), log))
}

// Handler serves a step with deps: it logs the result or the error with
// the sleep it belongs to, and maps the error (steperr.Map) for the state
// machine's Retry and Catch.
func Handler[Out any](name string, step func(context.Context, Deps, Input) (Out, error), deps Deps, log *slog.Logger) func(context.Context, Input) (Out, error) {
	return steperr.Logged(log, name, func(in Input) []any {
		return []any{"execution", in.Execution, "host", in.Host, "sleepRequestedAt", in.SleepRequestedAt, "reason", in.Reason}
	}, func(ctx context.Context, in Input) (Out, error) { return step(ctx, deps, in) })
}
