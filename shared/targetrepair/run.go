package targetrepair

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

// Run is the main of the step's function: it reads the configuration (the
// rules table's name from RULES_TABLE_NAME), then serves the step, logging
// each result or error as JSON with the execution it belongs to.
func Run[Out any](name string, step func(context.Context, Deps, Input) (Out, error)) {
	cfg, log := awsenv.Setup()
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	deps := NewDeps(cfg, store)

	lambda.Start(steperr.Logged(log, name, func(in Input) []any {
		return []any{"execution", in.Execution, "host", in.Host, "instanceIds", in.InstanceIDs}
	}, func(ctx context.Context, in Input) (Out, error) { return step(ctx, deps, in) }))
}
