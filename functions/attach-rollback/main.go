// Command attach-rollback is AttachRule's rollback step: it deletes what the
// failed execution created, in reverse order, and fails with
// RollbackIncomplete, listing what is left, when it cannot (see
// shared/rulerollback).
//
// Environment: RULES_TABLE_NAME (required).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulerollback"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/ruletarget"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	deps := rulerollback.Deps{
		Store:   store,
		Clients: func(region string) ruletarget.Clients { return ruletarget.NewClients(cfg, region) },
	}

	lambda.Start(steperr.Handler(func(ctx context.Context, in ruledoc.AttachInput) (step.RollbackResult, error) {
		log.Info("rollback", "execution", in.Execution, "error", in.Error)
		res, err := rulerollback.Run(ctx, deps, in)
		log.Info("rollback done", "execution", in.Execution, "deleted", res.Deleted, "left", res.Left, "error", err)
		return res, err
	}))
}
