// Command detach-find is DetachRule's first step, FindRule: the host's item
// in the rules table, if any (see shared/ruleitem).
//
// Environment: RULES_TABLE_NAME (required).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/ruleitem"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}

	lambda.Start(steperr.Handler(func(ctx context.Context, in ruledoc.DetachInput) (ruledoc.Found, error) {
		res, err := ruleitem.Find(ctx, store, in)
		l := log.With("execution", in.Execution, "host", res.Host)
		if err != nil {
			l.Error("find rule", "error", err.Error())
			return res, err
		}
		l.Info("rule looked up", "found", res.Found)
		return res, nil
	}))
}
