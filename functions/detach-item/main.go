// Command detach-item is DetachRule's last step, DeleteRuleItem: the rule's
// item in the rules table, if it is still the one FindRule read (see
// shared/ruleitem).
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

	lambda.Start(steperr.Handler(func(ctx context.Context, in ruledoc.DetachInput) (ruledoc.Deleted, error) {
		res, err := ruleitem.Remove(ctx, store, in)
		l := log.With("execution", in.Execution)
		if err != nil {
			l.Error("delete rule item", "error", err.Error())
			return res, err
		}
		l.Info("rule item deleted", "resources", res.Resources)
		return res, nil
	}))
}
